"""Allocating, reading and invalidating randomizations.

An allocation runs in one transaction that first locks the audit head (which serializes every
allocation and audit append), then re-reads everything it decides on: the subject's state, her
existing allocation, the stratum counter (locked too). The arm, the allocation row, the audit
entry and the `randomization.assigned` event are committed together, or none is.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_randomization import audit
from rescue_randomization.access import (
    Invalidator,
    ProtocolVersion,
    Randomizer,
    TrialTeam,
    refuse,
)
from rescue_randomization.allocation import count, decide, locked_counter
from rescue_randomization.domain.strata import StrataConfig, StratumError, derive_stratum
from rescue_randomization.randomizability import REQUEST_FACTS, strata_facts, unmet_conditions
from rescue_randomization.schemas import (
    InvalidationRequest,
    RandomizationRequest,
    RandomizationView,
    SubjectId,
)
from rescue_randomization.tables import Allocation, RandomizationCandidate, SubjectPrediction
from rescue_randomization.trial import config_of, lock_trial
from rescue_shared.auth import AnyTrialRole, Principal, ensure_same_site
from rescue_shared.clock import date_in
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import RandomizationAssigned, RandomizationInvalidated
from rescue_shared.db.platform_tables import utcnow
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.http.problems import Problem
from rescue_shared.observability.context import current_correlation_id
from rescue_shared.service import Settings, UoW
from rescue_shared.settings import ServiceSettings
from rescue_shared.validation.reasons import MIN_REASON_WORDS, reason_is_meaningful

router = APIRouter(prefix="/v1", tags=["randomizations"])


async def allocation_of(session: AsyncSession, subject_id: str) -> Allocation | None:
    return (await session.exec(
        select(Allocation).where(Allocation.subject_id == subject_id)
        .execution_options(populate_existing=True))).first()


def already_randomized(allocation: Allocation) -> Problem:
    state = "invalidated; she cannot be randomized again" if allocation.invalidated_at else "valid"
    return Problem(409, "Already randomized",
                   f"subject {allocation.subject_id} was randomized on "
                   f"{allocation.randomization_date.isoformat()} as "
                   f"{allocation.randomization_number} (allocation {state})",
                   randomization=RandomizationView.of(allocation).model_dump(mode="json"))


def invalid_request_facts(body: RandomizationRequest, strata: StrataConfig) -> Problem | None:
    """422 naming a request field that a stratification factor cannot read."""
    given = {"planned_maintenance": body.planned_maintenance}
    errors = []
    for factor in strata.factors:
        if factor.source not in REQUEST_FACTS:
            continue
        value = given.get(factor.source)
        if value is None:
            errors.append({"field": factor.source, "rule": "missing",
                           "message": f"required by the stratification factor {factor.name!r}"})
            continue
        try:
            factor.level_of(value)
        except StratumError as exc:
            errors.append({"field": factor.source, "rule": "enum", "message": str(exc)})
    if not errors:
        return None
    fields = ", ".join(e["field"] for e in errors)
    return Problem(422, "Invalid request", f"invalid field(s): {fields}", errors=errors)


def assigned_event(settings: ServiceSettings, allocation: Allocation) -> EventEnvelope[Any]:
    return new_event(
        RandomizationAssigned(randomization_number=allocation.randomization_number,
                              arm=allocation.arm,  # type: ignore[arg-type]
                              stratum=dict(allocation.stratum),
                              randomization_date=allocation.randomization_date,
                              scheme=allocation.scheme),
        producer=settings.service_name, trial_id=settings.trial_id, site_id=allocation.site_id,
        subject_id=allocation.subject_id, correlation_id=current_correlation_id())


async def _allocate(uow: UnitOfWork, principal: Principal, version: str,
                    body: RandomizationRequest, settings: ServiceSettings) -> Allocation:
    async def refused(problem: Problem) -> None:
        await refuse(uow, principal, version, problem, action="allocation",
                     subject_id=body.subject_id)

    if not body.consent_confirmed:
        await refused(Problem(422, "Invalid request", "consent is not confirmed", errors=[{
            "field": "consent_confirmed", "rule": "must_be_true",
            "message": "the subject's written informed consent must be confirmed"}]))
    session = uow.session
    head, trial = await lock_trial(session, principal, version)
    if trial.locked_at is not None:
        await refused(Problem(409, "Trial locked", "the trial's randomization is locked; no "
                                                   "further allocations"))
    config = config_of(trial)
    if problem := invalid_request_facts(body, config.strata):
        await refused(problem)
    candidate = await session.get(RandomizationCandidate, body.subject_id,
                                  populate_existing=True)
    if candidate is not None and candidate.site_id != principal.site_id:
        candidate = None  # another site's subject: answered as unknown, her existence not told
    if candidate is not None and (existing := await allocation_of(session, body.subject_id)):
        await refused(already_randomized(existing))
    prediction = await session.get(SubjectPrediction, body.subject_id, populate_existing=True)
    if unmet := unmet_conditions(candidate, prediction, config.strata):
        await refused(Problem(
            409, "Not randomizable", f"subject {body.subject_id} is not randomizable: "
            f"{'; '.join(c.detail for c in unmet)}",
            missing=list(dict.fromkeys(c.condition for c in unmet)),
            unmet_conditions=[c.as_dict() for c in unmet]))
    assert candidate is not None
    facts = strata_facts(candidate, {"planned_maintenance": body.planned_maintenance})
    stratum = derive_stratum(facts, config.strata)
    counter = await locked_counter(session, stratum)
    sequence = trial.allocations
    decision = await decide(session, bytes.fromhex(trial.seed_hex), sequence, config, stratum,
                            counter)
    allocation = Allocation(
        sequence=sequence, randomization_number=f"{trial.number_prefix}{sequence + 1:05d}",
        subject_id=body.subject_id, site_id=candidate.site_id, stratum_key=stratum.key,
        stratum=dict(stratum.levels), slot_index=counter.next_slot, arm=decision.arm.value,
        scheme=config.scheme.scheme, protocol_version=trial.protocol_version,
        details=decision.details, planned_maintenance=body.planned_maintenance,
        consent_confirmed=True, allocated_at=(now := utcnow()),
        randomization_date=date_in(now, settings.trial_timezone), allocated_by=principal.sub)
    count(counter, decision.arm)
    trial.allocations += 1
    session.add_all([allocation, counter, trial])
    audit.record(session, head, "allocation", principal, {
        "sequence": sequence, "randomization_number": allocation.randomization_number,
        "arm": allocation.arm, "stratum": allocation.stratum, "stratum_key": stratum.key,
        "randomization_date": allocation.randomization_date.isoformat(),
        "slot_index": allocation.slot_index, "scheme": allocation.scheme,
        "protocol_version": allocation.protocol_version, "consent_confirmed": True,
        "planned_maintenance": body.planned_maintenance, **decision.details,
    }, site_id=allocation.site_id, subject_id=allocation.subject_id)
    uow.emit(assigned_event(settings, allocation))
    try:
        await uow.commit()
    except IntegrityError:  # last line of defence: a UNIQUE constraint caught a double use
        await uow.rollback()
        existing = await allocation_of(session, body.subject_id)
        await refused(already_randomized(existing) if existing else Problem(
            409, "Allocation conflict", "the allocation collided with another; retry"))
    return allocation


@router.post("/randomizations", status_code=201, response_model=RandomizationView,
             summary="Randomize a subject (concealed, stratified 1:1 allocation)")
async def randomize(
    body: RandomizationRequest, principal: Randomizer, uow: UoW, settings: Settings,
    version: ProtocolVersion,
) -> RandomizationView:
    """Allocate an arm to a randomizable subject of the caller's site.

    409 names every unmet condition (screened, eligibility_confirmed,
    prediction_highly_likely_complete_resection, strata_facts), or returns the existing
    randomization; 422 when consent is not confirmed or a stratification fact is invalid.
    Every allocation and every refusal is written to the audit trail.
    """
    if principal.site_id is None:
        raise Problem(403, "Forbidden", "randomization requires a token bound to a site (site_id)")
    return RandomizationView.of(await _allocate(uow, principal, version, body, settings))


@router.get("/randomizations/{subject_id}", response_model=RandomizationView,
            summary="A subject's randomization (with its invalidation, if any)")
async def get_randomization(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW
) -> RandomizationView:
    allocation = await allocation_of(uow.session, subject_id)
    ensure_same_site(principal, allocation.site_id if allocation else None,
                     f"randomization of subject {subject_id}")
    assert allocation is not None
    return RandomizationView.of(allocation)


CSV_COLUMNS = ("randomization_number", "subject_id", "site_id", "arm", "stratum",
               "allocated_at", "randomization_date", "scheme", "status", "invalidated_at",
               "invalidation_reason")


def _csv(views: list[RandomizationView]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for v in views:
        inv = v.invalidation
        writer.writerow([v.randomization_number, v.subject_id, v.site_id, v.arm,
                         "|".join(f"{k}={x}" for k, x in v.stratum.items()),
                         v.allocated_at.isoformat(), v.randomization_date.isoformat(),
                         v.scheme, v.status,
                         inv.invalidated_at.isoformat() if inv else "", inv.reason if inv else ""])
    return buffer.getvalue()


@router.get("/randomizations", response_model=list[RandomizationView],
            responses={200: {"content": {"text/csv": {}}}},
            summary="Every randomization in order (an audited export; CSV with Accept: text/csv)")
async def list_randomizations(
    request: Request, principal: TrialTeam, uow: UoW, version: ProtocolVersion,
    site_id: str | None = None,
) -> list[RandomizationView] | Response:
    head, _ = await lock_trial(uow.session, principal, version)
    query = select(Allocation).order_by(col(Allocation.sequence))
    if site_id is not None:
        query = query.where(Allocation.site_id == site_id)
    views = [RandomizationView.of(a) for a in (await uow.session.exec(query)).all()]
    as_csv = "text/csv" in request.headers.get("accept", "")
    audit.record(uow.session, head, "export", principal, {
        "export": "randomizations", "format": "csv" if as_csv else "json",
        "site_id": site_id, "rows": len(views)})
    await uow.commit()
    if as_csv:
        disposition = 'attachment; filename="randomizations.csv"'
        return Response(_csv(views), media_type="text/csv",
                        headers={"Content-Disposition": disposition})
    return views


def reason_problem(reason: str) -> Problem | None:
    """A reason must mean something to an auditor years later: at least three words of two or
    more letters (`x.y.z......`, `1 2 3` or `a b c` are no reason)."""
    if reason_is_meaningful(reason):
        return None
    return Problem(422, "Invalid request", "invalid field(s): reason", errors=[{
        "field": "reason", "rule": "min_words",
        "message": f"give the reason in at least {MIN_REASON_WORDS} words of two or more "
                   "letters"}])


def invalidated_event(settings: ServiceSettings, allocation: Allocation,
                      at: datetime) -> EventEnvelope[Any]:
    return new_event(
        RandomizationInvalidated(randomization_number=allocation.randomization_number,
                                 reason=allocation.invalidation_reason or "",
                                 invalidated_by=allocation.invalidated_by or "",
                                 invalidated_at=at),
        producer=settings.service_name, trial_id=settings.trial_id, site_id=allocation.site_id,
        subject_id=allocation.subject_id, correlation_id=current_correlation_id())


@router.post("/randomizations/{subject_id}/invalidation", response_model=RandomizationView,
             summary="Mark an allocation as made in error (never deleted, never reused)")
async def invalidate(
    subject_id: SubjectId, body: InvalidationRequest, principal: Invalidator, uow: UoW,
    settings: Settings, version: ProtocolVersion,
) -> RandomizationView:
    """The allocation stays (its slot stays consumed) and the subject cannot be re-randomized."""
    async def refused(problem: Problem) -> None:
        await refuse(uow, principal, version, problem, action="invalidation",
                     subject_id=subject_id)

    session = uow.session
    head, trial = await lock_trial(session, principal, version)
    allocation = await allocation_of(session, subject_id)
    if allocation is None or not (principal.sees_all_sites
                                  or allocation.site_id == principal.site_id):
        await refused(Problem(404, "Not found", f"randomization of subject {subject_id} "
                                                "not found"))
    assert allocation is not None
    if trial.locked_at is not None:
        await refused(Problem(409, "Trial locked", "the trial's randomization is locked"))
    if problem := reason_problem(body.reason):
        await refused(problem)
    if allocation.invalidated_at is not None:
        await refused(Problem(409, "Already invalidated",
                              f"{allocation.randomization_number} was invalidated on "
                              f"{allocation.invalidated_at.isoformat()}",
                              randomization=RandomizationView.of(allocation).model_dump(
                                  mode="json")))
    at = utcnow()
    allocation.invalidated_at = at
    allocation.invalidated_by = principal.sub
    allocation.invalidation_reason = body.reason.strip()
    session.add(allocation)
    audit.record(session, head, "invalidation", principal, {
        "randomization_number": allocation.randomization_number, "arm": allocation.arm,
        "reason": allocation.invalidation_reason}, site_id=allocation.site_id,
        subject_id=subject_id)
    uow.emit(invalidated_event(settings, allocation, at))
    await uow.commit()
    return RandomizationView.of(allocation)
