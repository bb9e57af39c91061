"""Allocating, reading and invalidating randomizations (README, "Randomization";
docs/protocol/randomization.md).

Allocations run in a unit of work that first locks the audit head (which serializes every
allocation and audit append), then re-reads everything it decides on: the subject's state, her
existing allocation, the stratum counter (locked too). The arm, the allocation, the audit entry
and the `randomization.assigned` event are committed together, or none is; a UNIQUE constraint
refusing the commit is the last line of defence against a double allocation. Requests arriving
together in one process share that unit of work (`AllocationGroup`, grouped by
`entrypoints/http/allocation_groups.py`): one lock and one commit for the group.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, NoReturn

from rescue_randomization.domain.allocation import count, decide
from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.randomizability import (
    request_fact_errors,
    strata_facts,
    unmet_conditions,
)
from rescue_randomization.domain.records import (
    AllocationRecord,
    AuditHeadRecord,
    CandidateRecord,
    PredictionRecord,
    StratumCounterRecord,
    TrialRecord,
)
from rescue_randomization.domain.schemes import MinimizationConfig
from rescue_randomization.domain.strata import Stratum, derive_stratum
from rescue_randomization.service_layer import audit
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.refusals import record_refusal, refuse
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


def ensure_bound_to_site(actor: Principal) -> None:
    """Only a token bound to a site randomizes (checked before anything is written)."""
    if not actor.sites:
        raise Forbidden("randomization requires a token bound to a site (site_id)")


@dataclass(frozen=True)
class AllocationRequest:
    """One caller's request to randomize one subject."""

    actor: Principal
    subject_id: str
    consent_confirmed: bool
    planned_maintenance: str | None


class AllocationGroup:
    """Allocations decided one after another in one unit of work, under one lock of the audit
    head, committed together: the database sees one transaction for a whole group of requests.

    Each allocation reads what it decides on after the lock (the subject, her allocation, the
    prediction, the stratum counter) and sees the group's earlier allocations, so a group decides
    exactly what the same requests would decide one at a time, in the same order. A refusal is
    appended to the audit trail in the group's transaction and raised for its caller alone.
    """

    def __init__(self, uow: RandomizationUnitOfWork, head: AuditHeadRecord, trial: TrialRecord,
                 timezone: str) -> None:
        self._uow = uow
        self._head = head
        self._trial = trial
        self._config = config_of(trial)
        self._timezone = timezone
        self._counters: dict[str, StratumCounterRecord] = {}
        self._stored_counters: set[str] = set()  # counters already rows of the database
        self._allocated: dict[str, AllocationRecord] = {}  # by subject, in this group
        self._earlier: list[tuple[dict[str, str], Arm]] | None = None  # for minimization
        self._read: set[str] = set()  # subjects whose records were read when the group opened
        self._candidates: dict[str, CandidateRecord] = {}
        self._predictions: dict[str, PredictionRecord] = {}
        self._stored_allocations: dict[str, AllocationRecord] = {}

    @classmethod
    async def open(cls, uow: RandomizationUnitOfWork, actor: Principal, protocol_version: str,
                   timezone: str, subject_ids: Collection[str] = ()) -> AllocationGroup:
        """Lock the audit head (serializing every allocation and audit append), read the
        trial (set up on first use by `actor`), then what is known of `subject_ids` (three
        reads for the whole group rather than three per request)."""
        head, trial = await lock_trial(uow, actor, protocol_version)
        group = cls(uow, head, trial, timezone)
        if subject_ids:
            group._candidates = await uow.candidates.get_many(subject_ids)
            group._predictions = await uow.predictions.get_many(subject_ids)
            group._stored_allocations = await uow.allocations.of_subjects(subject_ids)
            group._read = set(subject_ids)
        return group

    async def allocate(self, request: AllocationRequest) -> RandomizationView:
        """Allocate an arm to a randomizable subject of one of the caller's sites.

        Conflict names every unmet condition (screened, eligibility_confirmed,
        prediction_highly_likely_complete_resection, strata_facts), or carries the existing
        randomization; Invalid when consent is not confirmed or a stratification fact is
        invalid. Every allocation and every refusal is written to the audit trail.
        """
        actor, subject_id = request.actor, request.subject_id
        ensure_bound_to_site(actor)
        try:
            candidate, stratum = await self._randomizable(request)
        except ServiceError as error:
            await record_refusal(self._uow, self._head, actor, error, action="allocation",
                                 subject_id=subject_id)
            raise
        return await self._allocate(request, candidate, stratum)

    async def _randomizable(self, request: AllocationRequest
                            ) -> tuple[CandidateRecord, Stratum]:
        """The subject and her stratum; the refusal otherwise (nothing is written here)."""
        actor, subject_id, config = request.actor, request.subject_id, self._config
        if not request.consent_confirmed:
            raise Invalid("consent is not confirmed", errors=[{
                "field": "consent_confirmed", "rule": "must_be_true",
                "message": "the subject's written informed consent must be confirmed"}])
        if self._trial.locked_at is not None:
            raise Conflict("the trial's randomization is locked; no further allocations",
                           title="Trial locked")
        request_facts = {"planned_maintenance": request.planned_maintenance}
        if errors := request_fact_errors(request_facts, config.strata):
            fields = ", ".join(e["field"] for e in errors)
            raise Invalid(f"invalid field(s): {fields}", errors=errors)
        candidate, stored, prediction = await self._records_of(subject_id)
        if candidate is not None and not actor.works_at(candidate.site_id):
            candidate = None  # another site's subject: answered as unknown, her existence not told
        if candidate is not None and (existing := self._allocated.get(subject_id) or stored):
            raise already_randomized(existing)
        if unmet := unmet_conditions(candidate, prediction, config.strata):
            raise Conflict(
                f"subject {subject_id} is not randomizable: "
                f"{'; '.join(c.detail for c in unmet)}",
                title="Not randomizable", missing=list(dict.fromkeys(c.condition for c in unmet)),
                unmet_conditions=[c.as_dict() for c in unmet])
        assert candidate is not None  # unmet_conditions names a missing candidate
        return candidate, derive_stratum(strata_facts(candidate, request_facts), config.strata)

    async def _records_of(self, subject_id: str) -> tuple[
            CandidateRecord | None, AllocationRecord | None, PredictionRecord | None]:
        """The subject's candidate record, stored allocation and prediction."""
        if subject_id in self._read:
            return (self._candidates.get(subject_id), self._stored_allocations.get(subject_id),
                    self._predictions.get(subject_id))
        return (await self._uow.candidates.get(subject_id),
                await self._uow.allocations.of_subject(subject_id),
                await self._uow.predictions.get(subject_id))

    async def _counter(self, stratum: Stratum) -> StratumCounterRecord:
        """The stratum's counter, locked on first use in this group (new if never used)."""
        counter = self._counters.get(stratum.key)
        if counter is None:
            counter = await self._uow.counters.locked(stratum.key)
            if counter is None:
                counter = StratumCounterRecord(stratum_key=stratum.key, levels=dict(stratum.levels))
            else:
                self._stored_counters.add(stratum.key)
            self._counters[stratum.key] = counter
        return counter

    async def _allocate(self, request: AllocationRequest, candidate: CandidateRecord,
                        stratum: Stratum) -> RandomizationView:
        uow, trial, config = self._uow, self._trial, self._config
        counter = await self._counter(stratum)
        if isinstance(config.scheme, MinimizationConfig) and self._earlier is None:
            self._earlier = await uow.allocations.strata_and_arms()
        sequence = trial.allocations
        decision = decide(bytes.fromhex(trial.seed_hex), sequence, config, stratum, counter,
                          self._earlier or ())
        allocated_at = now()
        allocation = AllocationRecord(
            sequence=sequence, randomization_number=f"{trial.number_prefix}{sequence + 1:05d}",
            subject_id=request.subject_id, site_id=candidate.site_id, stratum_key=stratum.key,
            stratum=dict(stratum.levels), slot_index=counter.next_slot, arm=decision.arm.value,
            scheme=config.scheme.scheme, protocol_version=trial.protocol_version,
            details=decision.details, planned_maintenance=request.planned_maintenance,
            consent_confirmed=True, allocated_at=allocated_at,
            randomization_date=date_in(allocated_at, self._timezone),
            allocated_by=request.actor.sub)
        count(counter, decision.arm)
        trial.allocations += 1
        if self._earlier is not None:
            self._earlier.append((dict(stratum.levels), decision.arm))
        self._allocated[request.subject_id] = allocation
        await uow.allocations.add(allocation)
        if stratum.key in self._stored_counters:
            await uow.counters.save(counter)
        else:
            await uow.counters.add(counter)
            self._stored_counters.add(stratum.key)
        await uow.trials.save(trial)
        await audit.record(uow, self._head, "allocation", request.actor, {
            "sequence": sequence, "randomization_number": allocation.randomization_number,
            "arm": allocation.arm, "stratum": allocation.stratum, "stratum_key": stratum.key,
            "randomization_date": allocation.randomization_date.isoformat(),
            "slot_index": allocation.slot_index, "scheme": allocation.scheme,
            "protocol_version": allocation.protocol_version, "consent_confirmed": True,
            "planned_maintenance": request.planned_maintenance, **decision.details,
        }, site_id=allocation.site_id, subject_id=allocation.subject_id)
        uow.emit(RandomizationAssigned(
            randomization_number=allocation.randomization_number, arm=decision.arm.value,
            stratum=dict(allocation.stratum), randomization_date=allocation.randomization_date,
            scheme=allocation.scheme), site_id=allocation.site_id,
            subject_id=allocation.subject_id)
        return RandomizationView.of(allocation)


async def refuse_collision(uow: RandomizationUnitOfWork, request: AllocationRequest,
                           protocol_version: str) -> NoReturn:
    """After a commit refused by a UNIQUE constraint (the last line of defence against a double
    use; rolled back by the caller): record and raise the refusal."""
    existing = await uow.allocations.of_subject(request.subject_id)
    await refuse(uow, request.actor, protocol_version, already_randomized(existing) if existing
                 else Conflict("the allocation collided with another; retry",
                               title="Allocation conflict"),
                 action="allocation", subject_id=request.subject_id)


async def allocate(
    uow: RandomizationUnitOfWork, actor: Principal, *, subject_id: str, consent_confirmed: bool,
    planned_maintenance: str | None, protocol_version: str, timezone: str,
) -> RandomizationView:
    """One allocation in its own unit of work (a group of one; see `AllocationGroup.allocate`)."""
    request = AllocationRequest(actor, subject_id, consent_confirmed, planned_maintenance)
    ensure_bound_to_site(actor)  # before the lock: a forbidden request writes nothing
    group = await AllocationGroup.open(uow, actor, protocol_version, timezone)
    try:
        view = await group.allocate(request)
    except ServiceError:
        await uow.commit()  # the refusal's audit entry
        raise
    try:
        await uow.commit()
    except CommitConflict:
        await uow.rollback()
        await refuse_collision(uow, request, protocol_version)
    return view


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
