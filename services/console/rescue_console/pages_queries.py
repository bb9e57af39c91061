"""Data queries across the four services (docs/data-queries.md): site staff see and answer
their site's, monitors and data managers raise, close and re-open. The services decide who may
do what; the console shows their answer in plain words."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response

from rescue_console.api import Api
from rescue_console.api_errors import ApiError
from rescue_console.web import PostedForm, SignedIn, UserApi, redirect, render

router = APIRouter()
QUERY_SERVICES = ("eligibility", "prediction", "randomization", "followup")
Service = Literal["eligibility", "prediction", "randomization", "followup"]
Step = Literal["answer", "close", "reopen"]
STATES = ("open", "answered", "closed")


async def _of(api: Api, service: str, state: str | None) -> tuple[list[dict[str, Any]], str]:
    try:
        found: list[dict[str, Any]] = await api.get(service, "/v1/queries", state=state)
        return [q | {"service": service} for q in found], ""
    except ApiError as exc:
        if exc.status == 401:
            raise
        return [], f"{service}: {exc.summary}"


async def all_queries(api: Api, state: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every service's queries the user may see, oldest first, and which services failed."""
    results = await asyncio.gather(*(_of(api, s, state) for s in QUERY_SERVICES))
    rows = sorted((q for found, _ in results for q in found), key=lambda q: q["opened_at"])
    return rows, [problem for _, problem in results if problem]


@router.get("/queries")
async def queries_page(request: Request, session: SignedIn, api: UserApi,
                       state: str | None = "open") -> Response:
    chosen = state if state in STATES else None
    rows, problems = await all_queries(api, chosen)
    return render(request, "queries.html", page="queries", queries=rows, problems=problems,
                  state=chosen, states=STATES,
                  can_answer=session.has("site_user", "investigator", "data_manager"),
                  can_close=session.has("monitor", "data_manager"))


@router.post("/queries/{service}/{query_id}/{step}")
async def query_step(request: Request, service: Service,
                     query_id: Annotated[str, Path(max_length=36)], step: Step,
                     session: SignedIn, api: UserApi, form: PostedForm) -> Response:
    try:
        await api.post(service, f"/v1/queries/{query_id}/{step}",
                       {"text": form.get("text"),
                        "correction_ref": form.get("correction_ref") or None},
                       labels={"text": "Answer or reason", "correction_ref": "Correcting record"})
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        session.notices.append(exc.summary)
    else:
        done = {"answer": "answered", "close": "closed", "reopen": "re-opened"}[step]
        session.notices.append(f"The query is {done}.")
    return redirect("/queries")
