"""What randomization learns about a subject from eligibility and prediction events.

Every use case here is order-independent: whatever order a subject's events arrive in (a replayed
or dead-letter-replayed event may overtake another), the end state is the one of the order they
happened in; nothing is dropped with a log line (docs/reliability.md, "Events that may arrive out
of order, per consumer").
- A screening: the latest screening (by occurred_at) counts and resets her final eligibility; an
  older screening arriving after a newer one is counted, not applied.
- An eligibility decision (confirmed / rejected): the final eligibility of her latest screening.
  A decision about a screening that is not her latest is parked (`PendingDecisions`) and applied
  when that screening arrives as her latest; a decision about a screening already superseded
  therefore never applies. For one screening the most recent decision (occurred_at) wins, in
  whichever order they arrive.
- A prediction: the highest version wins, whenever it arrives (before her first screening too:
  it is kept on its own record and read when she is randomized).

Every use case first locks the audit head, as allocations do: an event is applied either before an
allocation reads the subject (which then sees it) or after it (and then sees the allocation). News
that would have made an already randomized subject not randomizable is never silent: it is
appended to the audit trail as a `post_randomization_finding` for the monitors (her allocation
stands; an investigator decides whether to invalidate it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from rescue_randomization.domain.randomizability import HIGHLY_LIKELY
from rescue_randomization.domain.records import (
    AuditHeadRecord,
    CandidateRecord,
    PendingDecisionRecord,
    PredictionRecord,
)
from rescue_randomization.service_layer import audit, queries
from rescue_randomization.service_layer.clock import now
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    SubjectScreened,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """The event a fact came from: what the audit trail names, and who and when it is about."""

    event_type: str
    event_id: str
    producer: str
    occurred_at: datetime
    subject_id: str
    site_id: str


async def _finding_if_randomized(uow: RandomizationUnitOfWork, head: AuditHeadRecord,
                                 subject_id: str, event_type: str, event_id: str, producer: str,
                                 finding: str) -> None:
    allocation = await uow.allocations.of_subject(subject_id)
    if allocation is None:
        return
    log.warning("subject %s, randomized as %s: %s (event %s)", subject_id,
                allocation.randomization_number, finding, event_id)
    await audit.record(uow, head, "post_randomization_finding", f"event:{producer}", {
        "randomization_number": allocation.randomization_number, "finding": finding,
        "event_type": event_type, "event_id": event_id},
        site_id=allocation.site_id, subject_id=subject_id)


async def record_screening(uow: RandomizationUnitOfWork, screening: SubjectScreened,
                           origin: Origin) -> None:
    """The latest screening counts: a re-screened subject replaces her earlier result."""
    head = await uow.audit.lock_head()
    candidate = await uow.candidates.get(origin.subject_id)
    known = candidate is not None
    if candidate is None:
        candidate = CandidateRecord(
            subject_id=origin.subject_id, site_id=origin.site_id,
            latest_screening_id=str(screening.screening_id),
            screening_outcome=screening.outcome, first_seen_at=now())
    elif (candidate.latest_screening_at is not None
          and origin.occurred_at < candidate.latest_screening_at):
        log.info("screening %s of subject %s is older than her latest screening %s: counted, "
                 "not applied (event %s)", screening.screening_id, origin.subject_id,
                 candidate.latest_screening_id, origin.event_id)
        candidate.screenings_seen += 1
        await uow.candidates.save(candidate)
        return
    candidate.latest_screening_id = str(screening.screening_id)
    candidate.latest_screening_at = origin.occurred_at
    candidate.screening_outcome = screening.outcome
    candidate.awaiting_prediction = screening.awaiting_prediction
    candidate.screening_date = screening.screening_date
    candidate.protocol_version = screening.protocol_version
    candidate.clinical_facts = dict(screening.clinical_facts)
    candidate.failed_criteria = list(screening.failed_criteria)
    candidate.missing_facts = list(screening.missing_facts)
    candidate.eligibility_status = "ineligible" if screening.outcome == "ineligible" else "pending"
    candidate.eligibility_reason = None
    candidate.eligibility_decided_at = None
    candidate.screenings_seen += 1
    await (uow.candidates.save(candidate) if known else uow.candidates.add(candidate))
    await queries.check_subject(uow, origin.subject_id)
    if screening.outcome != "eligible":
        await _finding_if_randomized(uow, head, origin.subject_id, origin.event_type,
                                     origin.event_id, origin.producer,
                                     f"a new screening is {screening.outcome}")
    parked = await uow.pending_decisions.get(str(screening.screening_id))
    if parked is not None and parked.applied_at is None:
        log.info("applying the %s parked for screening %s of subject %s (event %s)",
                 parked.event_type, parked.screening_id, origin.subject_id, parked.event_id)
        parked.applied_at = now()
        await uow.pending_decisions.save(parked)
        await _apply_decision(uow, head, candidate, parked)


async def _apply_decision(uow: RandomizationUnitOfWork, head: AuditHeadRecord,
                          candidate: CandidateRecord, decision: PendingDecisionRecord) -> None:
    """Apply a decision about her latest screening, unless a more recent one was applied."""
    if (candidate.eligibility_decided_at is not None
            and decision.occurred_at < candidate.eligibility_decided_at):
        log.info("%s of %s for screening %s of subject %s is older than the decision applied "
                 "(%s); kept as it is (event %s)", decision.event_type, decision.occurred_at,
                 decision.screening_id, candidate.subject_id, candidate.eligibility_decided_at,
                 decision.event_id)
        return
    if decision.decision == "rejected":
        candidate.eligibility_status = "rejected"
        candidate.eligibility_reason = decision.reason
        candidate.failed_criteria = list(decision.failed_criteria or [])
        await _finding_if_randomized(uow, head, candidate.subject_id, decision.event_type,
                                     decision.event_id, decision.producer,
                                     f"eligibility rejected: {decision.reason}")
    else:
        candidate.eligibility_status = "confirmed"
        candidate.eligibility_reason = None
    candidate.eligibility_decided_at = decision.occurred_at
    await uow.candidates.save(candidate)


def _pending(decision: EligibilityConfirmed | EligibilityRejected,
             origin: Origin) -> PendingDecisionRecord:
    rejected = isinstance(decision, EligibilityRejected)
    return PendingDecisionRecord(
        screening_id=str(decision.screening_id), subject_id=origin.subject_id,
        site_id=origin.site_id, decision="rejected" if rejected else "confirmed",
        reason=decision.reason if isinstance(decision, EligibilityRejected) else None,
        failed_criteria=list(decision.failed_criteria)
        if isinstance(decision, EligibilityRejected) else None,
        event_type=origin.event_type, event_id=origin.event_id, producer=origin.producer,
        occurred_at=origin.occurred_at, parked_at=now())


async def record_eligibility_decision(
    uow: RandomizationUnitOfWork, decision: EligibilityConfirmed | EligibilityRejected,
    origin: Origin,
) -> None:
    """Final eligibility of the subject's latest screening; parked until its screening comes."""
    head = await uow.audit.lock_head()
    pending = _pending(decision, origin)
    candidate = await uow.candidates.get(origin.subject_id)
    if candidate is not None and candidate.latest_screening_id == pending.screening_id:
        await _apply_decision(uow, head, candidate, pending)
        return
    parked = await uow.pending_decisions.get(pending.screening_id)
    if parked is not None and pending.occurred_at < parked.occurred_at:
        return  # a more recent decision about that screening is parked already
    log.info("%s for screening %s of subject %s, not her latest screening (%s): parked until "
             "that screening arrives (event %s)", origin.event_type, pending.screening_id,
             origin.subject_id, candidate.latest_screening_id if candidate else "none",
             origin.event_id)
    if parked is None:
        await uow.pending_decisions.add(pending)
        return
    parked.decision = pending.decision
    parked.reason = pending.reason
    parked.failed_criteria = pending.failed_criteria
    parked.event_type = pending.event_type
    parked.event_id = pending.event_id
    parked.producer = pending.producer
    parked.occurred_at = pending.occurred_at
    parked.parked_at, parked.applied_at = now(), None
    await uow.pending_decisions.save(parked)


async def record_prediction(uow: RandomizationUnitOfWork, prediction: PredictionCompleted,
                            origin: Origin) -> None:
    """Apply a prediction unless a newer (or the same) version was already applied."""
    head = await uow.audit.lock_head()
    latest = await uow.predictions.get(origin.subject_id)
    if latest is not None and prediction.version <= latest.version:
        return
    received_at = now()
    record = latest or PredictionRecord(
        subject_id=origin.subject_id, site_id=origin.site_id, prediction_id="", version=0,
        classification="", received_at=received_at)
    record.prediction_id = str(prediction.prediction_id)
    record.version = prediction.version
    record.classification = prediction.classification
    record.received_at = received_at
    await (uow.predictions.add(record) if latest is None else uow.predictions.save(record))
    if prediction.classification != HIGHLY_LIKELY:
        await _finding_if_randomized(uow, head, origin.subject_id, origin.event_type,
                                     origin.event_id, origin.producer,
                                     f"prediction version {prediction.version} is "
                                     f"{prediction.classification}")
