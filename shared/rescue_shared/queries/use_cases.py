"""Data query use cases, the same in every service that owns data (docs/data-queries.md).

Each step is stored with the query and announced as `<service>.query_changed` in the same unit
of work; automatic checks open queries as the system and close them, linking the correction,
once the data no longer disagree.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable
from typing import Protocol

from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import DataQueryChanged
from rescue_shared.errors import Forbidden, Invalid, NotFound
from rescue_shared.queries.audit import StepAudit, record_in_shared_trail
from rescue_shared.queries.lifecycle import (
    MONITORING_ROLES,
    ROLES_OF,
    SYSTEM_ACTOR,
    DataQuery,
    Finding,
    QueryAction,
    QueryState,
    QueryStep,
    QueryTransitionError,
    apply_step,
)
from rescue_shared.unit_of_work_port import UnitOfWorkPort


class DataQueries(Protocol):
    async def get(self, query_id: str, *, lock: bool = False) -> DataQuery | None: ...

    async def add(self, query: DataQuery) -> None: ...

    async def save(self, query: DataQuery) -> None: ...

    async def find(
        self, *, site_ids: Collection[str] | None = None, subject_id: str | None = None,
        state: QueryState | None = None, check: str | None = None,
        opened_before: dt.datetime | None = None,
    ) -> list[DataQuery]: ...


class QueriesUnitOfWork(UnitOfWorkPort, Protocol):
    @property
    def queries(self) -> DataQueries: ...


Announcement = type[DataQueryChanged]  # the service's `<service>.query_changed` payload


async def _audited(audit: StepAudit, uow: QueriesUnitOfWork, query: DataQuery,
                   roles: Collection[str]) -> None:
    await audit(uow, query, query.steps[-1], roles)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _announce(uow: QueriesUnitOfWork, model: Announcement, query: DataQuery) -> None:
    step = query.steps[-1]
    uow.emit(model(query_id=query.id, action=step.action, state=query.state, check=query.check,
                   field=query.field, record_id=query.record_id, message=query.message,
                   actor=step.actor, at=step.at, text=step.text,
                   correction_ref=step.correction_ref),
             site_id=query.site_id, subject_id=query.subject_id)


def _new(site_id: str, subject_id: str, check: str, field: str, message: str,
         record_id: str | None, actor: str, at: dt.datetime) -> DataQuery:
    query = DataQuery(id=str(uuid.uuid4()), site_id=site_id, subject_id=subject_id, check=check,
                      field=field, message=message, state="open", opened_at=at,
                      record_id=record_id)
    query.steps.append(QueryStep(action="open", actor=actor, at=at, text=message))
    return query


async def open_query(
    uow: QueriesUnitOfWork, caller: Principal, announcement: Announcement, *, site_id: str,
    subject_id: str, field: str, message: str, record_id: str | None = None,
    audit: StepAudit = record_in_shared_trail,
) -> DataQuery:
    """A monitor (or data manager) raises a query by hand on any record of a subject."""
    if not caller.roles & ROLES_OF["open"]:
        raise Forbidden(f"opening a data query needs one of the roles {sorted(ROLES_OF['open'])}")
    if not message.strip():
        raise Invalid("invalid field(s): message", errors=[{
            "field": "message", "rule": "required", "message": "say what is to be checked"}])
    query = _new(site_id, subject_id, "manual", field, message.strip(), record_id, caller.sub,
                 _now())
    await uow.queries.add(query)
    _announce(uow, announcement, query)
    await _audited(audit, uow, query, caller.roles)
    await uow.commit()
    return query


async def take_step(
    uow: QueriesUnitOfWork, caller: Principal, announcement: Announcement, *, query_id: str,
    action: QueryAction, text: str, correction_ref: str | None = None,
    audit: StepAudit = record_in_shared_trail,
) -> DataQuery:
    """Answer (the site), close or re-open (a monitor) a query."""
    query = await uow.queries.get(query_id, lock=True)
    if query is None or not caller.can_access_site(query.site_id):
        raise NotFound(f"data query {query_id} not found")
    step = QueryStep(action=action, actor=caller.sub, at=_now(), text=text.strip(),
                     correction_ref=correction_ref)
    try:
        apply_step(query, step, caller.roles)
    except QueryTransitionError as exc:
        if exc.forbidden:
            raise Forbidden(str(exc)) from exc
        field = "text" if not text.strip() else "action"
        raise Invalid(str(exc), title="Query step not allowed", errors=[{
            "field": field, "rule": "query_state", "message": str(exc)}],
            state=query.state) from exc
    await uow.queries.save(query)
    _announce(uow, announcement, query)
    await _audited(audit, uow, query, caller.roles)
    await uow.commit()
    return query


async def sync_findings(
    uow: QueriesUnitOfWork, announcement: Announcement, *, site_id: str, subject_id: str,
    checks: Collection[str], findings: Iterable[Finding], correction_ref: str | None = None,
    audit: StepAudit = record_in_shared_trail,
) -> list[DataQuery]:
    """Open a query for each new finding of `checks` on the subject, and close (as the system,
    linking `correction_ref`) each of their queries whose discrepancy is gone. Does not commit:
    it runs in the unit of work of the change that was checked. Returns the queries changed."""
    at = _now()
    found = {(f.check, f.record_id): f for f in findings if f.check in checks}
    changed = []
    for query in await uow.queries.find(subject_id=subject_id):
        if query.check not in checks or query.state == "closed":
            continue
        if found.pop((query.check, query.record_id), None) is None:
            apply_step(query, QueryStep(
                action="close", actor=SYSTEM_ACTOR, at=at, correction_ref=correction_ref,
                text="the data no longer disagree" + (
                    f" after correction {correction_ref}" if correction_ref else "")), ())
            await uow.queries.save(query)
            changed.append(query)
    for finding in found.values():
        query = _new(site_id, subject_id, finding.check, finding.field, finding.message,
                     finding.record_id, SYSTEM_ACTOR, at)
        await uow.queries.add(query)
        changed.append(query)
    for query in changed:
        _announce(uow, announcement, query)
        await _audited(audit, uow, query, ())
    return changed


CHECK_RUNNERS = MONITORING_ROLES | {"admin"}


def ensure_may_run_checks(caller: Principal) -> None:
    """Running the automatic checks over every subject is for monitors, data managers and
    admins."""
    if not caller.roles & CHECK_RUNNERS:
        raise Forbidden(f"running the checks needs one of {sorted(CHECK_RUNNERS)}")


async def get_query(uow: QueriesUnitOfWork, caller: Principal, query_id: str) -> DataQuery:
    query = await uow.queries.get(query_id)
    await uow.rollback()
    if query is None or not caller.can_access_site(query.site_id):
        raise NotFound(f"data query {query_id} not found")
    return query


async def list_queries(
    uow: QueriesUnitOfWork, caller: Principal, *, site_id: str | None = None,
    subject_id: str | None = None, state: QueryState | None = None,
    min_age_days: int | None = None,
) -> list[DataQuery]:
    """Queries the caller may see (site staff: their site), filtered; `min_age_days`: opened
    at least that many days ago."""
    scope = caller.site_scope
    if site_id is not None and scope is not None and site_id not in scope:
        return []
    sites = scope if site_id is None else frozenset({site_id})
    before = None if min_age_days is None else _now() - dt.timedelta(days=min_age_days)
    found = await uow.queries.find(site_ids=sites, subject_id=subject_id, state=state,
                                   opened_before=before)
    await uow.rollback()
    return found
