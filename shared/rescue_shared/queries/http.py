"""The data query endpoints every service that owns data serves (`/v1/queries`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from rescue_shared.auth import AnyTrialRole, Principal
from rescue_shared.errors import NotFound
from rescue_shared.http.openapi import PROBLEM_REF, RequestExample
from rescue_shared.http.problems import PROBLEM_JSON
from rescue_shared.queries import use_cases
from rescue_shared.queries.audit import StepAudit, record_in_shared_trail
from rescue_shared.queries.lifecycle import DataQuery, QueryAction, QueryState, age_days
from rescue_shared.service import unit_of_work

# The site of a subject this service knows (None: unknown), to raise a query on her records.
SiteOf = Callable[[Any, str], Awaitable[str | None]]
# Runs the service's automatic checks over every subject; the number of queries changed.
RunChecks = Callable[[Any, Principal], Awaitable[int]]


# Module-level: the route signatures are resolved by name (postponed annotations).
UoW = Annotated[Any, Depends(unit_of_work)]
QueryId = Annotated[str, Path(max_length=36)]


class QueryStepView(BaseModel):
    action: QueryAction
    actor: str
    at: dt.datetime
    text: str
    correction_ref: str | None = None


class DataQueryView(BaseModel):
    id: str
    site_id: str
    subject_id: str
    check: str = Field(description="The automatic check's code, or `manual`")
    field: str
    record_id: str | None
    message: str
    state: QueryState
    opened_at: dt.datetime
    updated_at: dt.datetime
    age_days: int = Field(description="Days since opened (or last re-opened)")
    steps: list[QueryStepView]

    @classmethod
    def of(cls, query: DataQuery) -> DataQueryView:
        return cls(id=query.id, site_id=query.site_id, subject_id=query.subject_id,
                   check=query.check, field=query.field, record_id=query.record_id,
                   message=query.message, state=query.state, opened_at=query.opened_at,
                   updated_at=query.updated_at, age_days=age_days(query, dt.datetime.now(dt.UTC)),
                   steps=[QueryStepView(action=s.action, actor=s.actor, at=s.at, text=s.text,
                                        correction_ref=s.correction_ref) for s in query.steps])


class OpenQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "subject_id": "S01-0001", "field": "date", "record_id": None,
        "message": "The scan date differs from the radiology report; please check."}]})

    subject_id: str = Field(min_length=1, max_length=100)
    field: str = Field(min_length=1, max_length=100, description="The field in question")
    record_id: str | None = Field(None, max_length=100, description="The record, if one")
    message: str = Field(min_length=1, max_length=2000)


class QueryStepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "text": "Corrected from the radiology report", "correction_ref": None}]})

    text: str = Field(min_length=1, max_length=2000, description="The answer or the reason")
    correction_ref: str | None = Field(None, max_length=100,
                                       description="The correcting record, when one was made")


class CheckRun(BaseModel):
    changed: int = Field(description="Queries opened or closed by the run")


def queries_router(announcement: use_cases.Announcement, site_of: SiteOf,
                   run_checks: RunChecks | None = None,
                   audit: StepAudit = record_in_shared_trail) -> APIRouter:
    """The `/v1/queries` routes of a service: `announcement` is its `<service>.query_changed`
    payload, `site_of` finds a subject's site in its unit of work, `run_checks` runs its
    automatic checks over every subject."""
    router = APIRouter(prefix="/v1/queries", tags=["data queries"])

    @router.get("", response_model=list[DataQueryView],
                summary="Data queries (site staff: their site), by opening time")
    async def list_queries(
        principal: AnyTrialRole, uow: UoW, site_id: str | None = None,
        subject_id: str | None = None, state: QueryState | None = None,
        min_age_days: Annotated[int | None, Query(ge=0, le=36_500)] = None,
    ) -> list[DataQueryView]:
        found = await use_cases.list_queries(uow, principal, site_id=site_id,
                                             subject_id=subject_id, state=state,
                                             min_age_days=min_age_days)
        return [DataQueryView.of(q) for q in found]

    @router.get("/{query_id}", response_model=DataQueryView, summary="A data query and its steps")
    async def get_query(query_id: QueryId, principal: AnyTrialRole, uow: UoW) -> DataQueryView:
        return DataQueryView.of(await use_cases.get_query(uow, principal, query_id))

    @router.post("", status_code=201, response_model=DataQueryView,
                 summary="Raise a data query by hand on a subject's record (monitor)",
                 responses={404: {"description": "The subject is not known to this service",
                                  "content": {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}}})
    async def open_query(body: OpenQueryRequest, principal: AnyTrialRole, uow: UoW,
                         response: Response) -> DataQueryView:
        site_id = await site_of(uow, body.subject_id)
        if site_id is None:
            raise NotFound(f"subject {body.subject_id} not found")
        query = await use_cases.open_query(
            uow, principal, announcement, site_id=site_id, subject_id=body.subject_id,
            field=body.field, message=body.message, record_id=body.record_id, audit=audit)
        response.headers["Location"] = f"/v1/queries/{query.id}"
        return DataQueryView.of(query)

    def step_route(action: QueryAction, summary: str) -> None:
        @router.post(f"/{{query_id}}/{action}", response_model=DataQueryView, summary=summary,
                     name=f"{action}_query")
        async def take_step(query_id: QueryId, body: QueryStepRequest, principal: AnyTrialRole,
                            uow: UoW) -> DataQueryView:
            return DataQueryView.of(await use_cases.take_step(
                uow, principal, announcement, query_id=query_id, action=action, text=body.text,
                correction_ref=body.correction_ref, audit=audit))

    if run_checks is not None:
        checks = run_checks

        @router.post("/checks", response_model=CheckRun,
                     summary="Run the automatic checks over every subject (monitor)")
        async def run_query_checks(principal: AnyTrialRole, uow: UoW) -> CheckRun:
            return CheckRun(changed=await checks(uow, principal))

    step_route("answer", "Answer a data query with a reason or a correction (the site)")
    step_route("close", "Close a data query (monitor)")
    step_route("reopen", "Re-open an answered or closed data query (monitor)")
    return router


# What the OpenAPI documents show of the query routes (each service adds them to its own).
QUERY_EXAMPLES = {
    "open_query": RequestExample({
        "subject_id": "S01-0001", "field": "date",
        "message": "The date differs from the source document; please check."}),
    "answer_query": RequestExample({"text": "Checked against the source document: it is right"},
                                   path={"query_id": "3f2b8c1e-7d4a-4e1b-9c55-2a6f0d9b7e10"}),
    "close_query": RequestExample({"text": "Answer accepted"},
                                  path={"query_id": "3f2b8c1e-7d4a-4e1b-9c55-2a6f0d9b7e10"}),
    "reopen_query": RequestExample({"text": "The source says otherwise; please look again"},
                                   path={"query_id": "3f2b8c1e-7d4a-4e1b-9c55-2a6f0d9b7e10"}),
}
_STEP = ("allowed from the query's state: an open query is answered (site) or closed (monitor), "
         "an answered one closed or re-opened, a closed one re-opened")
QUERY_RULES = {
    "open_query": ["the subject is known to this service (else 404)"],
    "answer_query": [_STEP], "close_query": [_STEP], "reopen_query": [_STEP],
}
