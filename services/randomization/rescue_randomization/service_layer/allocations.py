"""Allocating, reading and invalidating randomizations (README, "Randomization";
docs/protocol/randomization.md).

An allocation runs in one unit of work that first locks the audit head (which serializes every
allocation and audit append), then re-reads everything it decides on: the subject's state, her
existing allocation, the stratum counter (locked too). The arm, the allocation, the audit entry
and the `randomization.assigned` event are committed together, or none is; a UNIQUE constraint
refusing the commit is the last line of defence against a double allocation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, NoReturn

from rescue_randomization.domain.allocation import count, decide
from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.randomizability import (
    request_fact_errors,
    strata_facts,
    unmet_conditions,
)
from rescue_randomization.domain.records import AllocationRecord, StratumCounterRecord
from rescue_randomization.domain.schemes import MinimizationConfig
from rescue_randomization.domain.strata import derive_stratum
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.refusals import refuse
from rescue_randomization.service_layer.trial_setup import config_of, lock_trial
from rescue_randomization.service_layer.unit_of_work import CommitConflict, RandomizationUnitOfWork
from rescue_randomization.service_layer.views import RandomizationView
from rescue_shared.auth.tokens import Principal
from rescue_shared.clock import date_in
from rescue_shared.contracts.events import RandomizationAssigned, RandomizationInvalidated
from rescue_shared.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from rescue_shared.validation.reasons import MIN_REASON_WORDS, reason_is_meaningful


def already_randomized(allocation: AllocationRecord) -> Conflict:
    state = "invalidated; she cannot be randomized again" if allocation.invalidated_at else "valid"
    return Conflict(f"subject {allocation.subject_id} was randomized on "
                    f"{allocation.randomization_date.isoformat()} as "
                    f"{allocation.randomization_number} (allocation {state})",
                    title="Already randomized",
                    randomization=RandomizationView.of(allocation).model_dump(mode="json"))


async def allocate(
    uow: RandomizationUnitOfWork, actor: Principal, *, subject_id: str, consent_confirmed: bool,
    planned_maintenance: str | None, protocol_version: str, timezone: str,
) -> RandomizationView:
    """Allocate an arm to a randomizable subject of one of the caller's sites.

    Conflict names every unmet condition (screened, eligibility_confirmed,
    prediction_highly_likely_complete_resection, strata_facts), or carries the existing
    randomization; Invalid when consent is not confirmed or a stratification fact is invalid.
    Every allocation and every refusal is written to the audit trail.
    """
    if not actor.sites:
        raise Forbidden("randomization requires a token bound to a site (site_id)")

    async def refused(error: ServiceError) -> NoReturn:
        await refuse(uow, actor, protocol_version, error, action="allocation",
                     subject_id=subject_id)

    if not consent_confirmed:
        await refused(Invalid("consent is not confirmed", errors=[{
            "field": "consent_confirmed", "rule": "must_be_true",
            "message": "the subject's written informed consent must be confirmed"}]))
    head, trial = await lock_trial(uow, actor, protocol_version)
    if trial.locked_at is not None:
        await refused(Conflict("the trial's randomization is locked; no further allocations",
                               title="Trial locked"))
    config = config_of(trial)
    request_facts = {"planned_maintenance": planned_maintenance}
    if errors := request_fact_errors(request_facts, config.strata):
        fields = ", ".join(e["field"] for e in errors)
        await refused(Invalid(f"invalid field(s): {fields}", errors=errors))
    candidate = await uow.candidates.get(subject_id)
    if candidate is not None and not actor.works_at(candidate.site_id):
        candidate = None  # another site's subject: answered as unknown, her existence not told
    if candidate is not None and (existing := await uow.allocations.of_subject(subject_id)):
        await refused(already_randomized(existing))
    prediction = await uow.predictions.get(subject_id)
    if unmet := unmet_conditions(candidate, prediction, config.strata):
        await refused(Conflict(
            f"subject {subject_id} is not randomizable: {'; '.join(c.detail for c in unmet)}",
            title="Not randomizable", missing=list(dict.fromkeys(c.condition for c in unmet)),
            unmet_conditions=[c.as_dict() for c in unmet]))
    assert candidate is not None  # unmet_conditions names a missing candidate
    stratum = derive_stratum(strata_facts(candidate, request_facts), config.strata)
    counter = await uow.counters.locked(stratum.key)
    new_stratum = counter is None
    if counter is None:
        counter = StratumCounterRecord(stratum_key=stratum.key, levels=dict(stratum.levels))
    sequence = trial.allocations
    earlier: Iterable[tuple[dict[str, str], Arm]] = (
        await uow.allocations.strata_and_arms()
        if isinstance(config.scheme, MinimizationConfig) else ())
    decision = decide(bytes.fromhex(trial.seed_hex), sequence, config, stratum, counter, earlier)
    allocated_at = now()
    allocation = AllocationRecord(
        sequence=sequence, randomization_number=f"{trial.number_prefix}{sequence + 1:05d}",
        subject_id=subject_id, site_id=candidate.site_id, stratum_key=stratum.key,
        stratum=dict(stratum.levels), slot_index=counter.next_slot, arm=decision.arm.value,
        scheme=config.scheme.scheme, protocol_version=trial.protocol_version,
        details=decision.details, planned_maintenance=planned_maintenance,
        consent_confirmed=True, allocated_at=allocated_at,
        randomization_date=date_in(allocated_at, timezone), allocated_by=actor.sub)
    count(counter, decision.arm)
    trial.allocations += 1
    await uow.allocations.add(allocation)
    await (uow.counters.add(counter) if new_stratum else uow.counters.save(counter))
    await uow.trials.save(trial)
    await audit.record(uow, head, "allocation", actor, {
        "sequence": sequence, "randomization_number": allocation.randomization_number,
        "arm": allocation.arm, "stratum": allocation.stratum, "stratum_key": stratum.key,
        "randomization_date": allocation.randomization_date.isoformat(),
        "slot_index": allocation.slot_index, "scheme": allocation.scheme,
        "protocol_version": allocation.protocol_version, "consent_confirmed": True,
        "planned_maintenance": planned_maintenance, **decision.details,
    }, site_id=allocation.site_id, subject_id=allocation.subject_id)
    uow.emit(RandomizationAssigned(
        randomization_number=allocation.randomization_number, arm=decision.arm.value,
        stratum=dict(allocation.stratum), randomization_date=allocation.randomization_date,
        scheme=allocation.scheme), site_id=allocation.site_id, subject_id=allocation.subject_id)
    try:
        await uow.commit()
    except CommitConflict:  # last line of defence: a UNIQUE constraint caught a double use
        await uow.rollback()
        existing = await uow.allocations.of_subject(subject_id)
        await refused(already_randomized(existing) if existing else Conflict(
            "the allocation collided with another; retry", title="Allocation conflict"))
    return RandomizationView.of(allocation)


async def get_randomization(uow: RandomizationUnitOfWork, actor: Principal,
                            subject_id: str) -> RandomizationView:
    """A subject's randomization, with its invalidation if any (own site only)."""
    allocation = await uow.allocations.of_subject(subject_id)
    if allocation is None or not actor.can_access_site(allocation.site_id):
        raise NotFound(f"randomization of subject {subject_id} not found")
    return RandomizationView.of(allocation)


async def list_randomizations(
    uow: RandomizationUnitOfWork, actor: Principal, *, protocol_version: str,
    site_id: str | None = None, export_format: Literal["json", "csv"] = "json",
) -> list[RandomizationView]:
    """Every randomization in order (of one site, when given); the export is audited."""
    head, _ = await lock_trial(uow, actor, protocol_version)
    views = [RandomizationView.of(a) for a in await uow.allocations.in_order(site_id)]
    await audit.record(uow, head, "export", actor, {
        "export": "randomizations", "format": export_format, "site_id": site_id,
        "rows": len(views)})
    await uow.commit()
    return views


def _invalid_reason() -> Invalid:
    """A reason must mean something to an auditor years later: at least three words of two or
    more letters (`x.y.z......`, `1 2 3` or `a b c` are no reason)."""
    return Invalid("invalid field(s): reason", errors=[{
        "field": "reason", "rule": "min_words",
        "message": f"give the reason in at least {MIN_REASON_WORDS} words of two or more "
                   "letters"}])


async def invalidate(
    uow: RandomizationUnitOfWork, actor: Principal, *, subject_id: str, reason: str,
    protocol_version: str,
) -> RandomizationView:
    """Mark an allocation as made in error: it stays (its slot stays consumed) and the subject
    cannot be randomized again; emits `randomization.invalidated`."""
    async def refused(error: ServiceError) -> NoReturn:
        await refuse(uow, actor, protocol_version, error, action="invalidation",
                     subject_id=subject_id)

    head, trial = await lock_trial(uow, actor, protocol_version)
    allocation = await uow.allocations.of_subject(subject_id)
    if allocation is None or not actor.can_access_site(allocation.site_id):
        await refused(NotFound(f"randomization of subject {subject_id} not found"))
    if trial.locked_at is not None:
        await refused(Conflict("the trial's randomization is locked", title="Trial locked"))
    if not reason_is_meaningful(reason):
        await refused(_invalid_reason())
    if allocation.invalidated_at is not None:
        await refused(Conflict(
            f"{allocation.randomization_number} was invalidated on "
            f"{allocation.invalidated_at.isoformat()}", title="Already invalidated",
            randomization=RandomizationView.of(allocation).model_dump(mode="json")))
    at = now()
    allocation.invalidated_at = at
    allocation.invalidated_by = actor.sub
    allocation.invalidation_reason = reason.strip()
    await uow.allocations.save(allocation)
    await audit.record(uow, head, "invalidation", actor, {
        "randomization_number": allocation.randomization_number, "arm": allocation.arm,
        "reason": allocation.invalidation_reason}, site_id=allocation.site_id,
        subject_id=subject_id)
    uow.emit(RandomizationInvalidated(
        randomization_number=allocation.randomization_number, reason=allocation.invalidation_reason,
        invalidated_by=actor.sub, invalidated_at=at),
        site_id=allocation.site_id, subject_id=allocation.subject_id)
    await uow.commit()
    return RandomizationView.of(allocation)
