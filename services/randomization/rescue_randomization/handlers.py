"""Event handlers: per subject, what randomization learns from eligibility and prediction.

Every handler is order-independent: whatever order a subject's events arrive in (a replayed or
dead-letter-replayed event may overtake another), the end state is the one of the order they
happened in. Nothing is dropped with a log line.
- `eligibility.screened`: the latest screening (by occurred_at) counts and resets her final
  eligibility; an older screening arriving after a newer one is counted, not applied.
- `eligibility.confirmed` / `rejected`: the final eligibility of her latest screening. A decision
  about a screening that is not her latest is parked (`randomization_pending_decision`) and
  applied when that screening arrives as her latest; a decision about a screening already
  superseded therefore never applies. For one screening the most recent decision (occurred_at)
  wins, in whichever order they arrive.
- `prediction.completed`: the highest version wins, whenever it arrives (before her first
  screening too: it is kept on its own row and read when she is randomized).

Every handler first locks the audit head, as allocations do: an event is applied either before an
allocation reads the subject (which then sees it) or after it (and then sees the allocation). News
that would have made an already randomized subject not randomizable is never silent: it is
appended to the audit trail as a `post_randomization_finding` for the monitors (her allocation
stands; an investigator decides whether to invalidate it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select

from rescue_randomization import audit
from rescue_randomization.randomizability import HIGHLY_LIKELY
from rescue_randomization.tables import (
    Allocation,
    AuditHead,
    PendingDecision,
    RandomizationCandidate,
    SubjectPrediction,
)
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.db.platform_tables import utcnow
from rescue_shared.db.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """The event a fact came from, as the audit trail names it."""

    event_type: str
    event_id: str
    producer: str

    @classmethod
    def of(cls, event: EventEnvelope[Any]) -> Source:
        return cls(event.event_type, str(event.event_id), event.producer)


async def _finding_if_randomized(uow: UnitOfWork, head: AuditHead, subject_id: str,
                                 source: Source, finding: str) -> None:
    allocation = (await uow.session.exec(select(Allocation).where(
        Allocation.subject_id == subject_id))).first()
    if allocation is None:
        return
    log.warning("subject %s, randomized as %s: %s (event %s)", subject_id,
                allocation.randomization_number, finding, source.event_id)
    audit.record(uow.session, head, "post_randomization_finding", f"event:{source.producer}", {
        "randomization_number": allocation.randomization_number, "finding": finding,
        "event_type": source.event_type, "event_id": source.event_id},
        site_id=allocation.site_id, subject_id=subject_id)


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """The latest screening counts: a re-screened subject replaces her earlier result."""
    payload: SubjectScreened = event.payload
    head = await audit.lock_head(uow.session)
    candidate = await uow.session.get(RandomizationCandidate, event.subject_id)
    if candidate is None:
        candidate = RandomizationCandidate(
            subject_id=event.subject_id, site_id=event.site_id,
            latest_screening_id=str(payload.screening_id), screening_outcome=payload.outcome,
        )
    elif (candidate.latest_screening_at is not None
          and event.occurred_at < candidate.latest_screening_at):
        log.info("screening %s of subject %s is older than her latest screening %s: counted, "
                 "not applied (event %s)", payload.screening_id, event.subject_id,
                 candidate.latest_screening_id, event.event_id)
        candidate.screenings_seen += 1
        uow.session.add(candidate)
        return
    candidate.latest_screening_id = str(payload.screening_id)
    candidate.latest_screening_at = event.occurred_at
    candidate.screening_outcome = payload.outcome
    candidate.awaiting_prediction = payload.awaiting_prediction
    candidate.screening_date = payload.screening_date
    candidate.protocol_version = payload.protocol_version
    candidate.clinical_facts = dict(payload.clinical_facts)
    candidate.failed_criteria = list(payload.failed_criteria)
    candidate.missing_facts = list(payload.missing_facts)
    candidate.eligibility_status = "ineligible" if payload.outcome == "ineligible" else "pending"
    candidate.eligibility_reason = None
    candidate.eligibility_decided_at = None
    candidate.screenings_seen += 1
    uow.session.add(candidate)
    if payload.outcome != "eligible":
        await _finding_if_randomized(uow, head, event.subject_id, Source.of(event),
                                     f"a new screening is {payload.outcome}")
    parked = await uow.session.get(PendingDecision, str(payload.screening_id))
    if parked is not None and parked.applied_at is None:
        log.info("applying the %s parked for screening %s of subject %s (event %s)",
                 parked.event_type, parked.screening_id, event.subject_id, parked.event_id)
        parked.applied_at = utcnow()
        uow.session.add(parked)
        await _apply_decision(uow, head, candidate, parked)


async def _apply_decision(uow: UnitOfWork, head: AuditHead, candidate: RandomizationCandidate,
                          decision: PendingDecision) -> None:
    """Apply a decision about her latest screening, unless a more recent one was applied."""
    if (candidate.eligibility_decided_at is not None
            and decision.occurred_at < candidate.eligibility_decided_at):
        log.info("%s of %s for screening %s of subject %s is older than the decision applied "
                 "(%s); kept as it is (event %s)", decision.event_type, decision.occurred_at,
                 decision.screening_id, candidate.subject_id, candidate.eligibility_decided_at,
                 decision.event_id)
        return
    source = Source(decision.event_type, decision.event_id, decision.producer)
    if decision.decision == "rejected":
        candidate.eligibility_status = "rejected"
        candidate.eligibility_reason = decision.reason
        candidate.failed_criteria = list(decision.failed_criteria or [])
        await _finding_if_randomized(uow, head, candidate.subject_id, source,
                                     f"eligibility rejected: {decision.reason}")
    else:
        candidate.eligibility_status = "confirmed"
        candidate.eligibility_reason = None
    candidate.eligibility_decided_at = decision.occurred_at
    uow.session.add(candidate)


def _decision_of(event: EventEnvelope[Any], occurred_at: datetime) -> PendingDecision:
    payload: EligibilityConfirmed | EligibilityRejected = event.payload
    rejected = isinstance(payload, EligibilityRejected)
    return PendingDecision(
        screening_id=str(payload.screening_id), subject_id=event.subject_id,
        site_id=event.site_id, decision="rejected" if rejected else "confirmed",
        reason=payload.reason if isinstance(payload, EligibilityRejected) else None,
        failed_criteria=list(payload.failed_criteria)
        if isinstance(payload, EligibilityRejected) else None,
        event_type=event.event_type, event_id=str(event.event_id), producer=event.producer,
        occurred_at=occurred_at)


async def on_eligibility_decided(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Final eligibility of the subject's latest screening; parked until its screening comes."""
    payload: EligibilityConfirmed | EligibilityRejected = event.payload
    head = await audit.lock_head(uow.session)
    decision = _decision_of(event, event.occurred_at)
    candidate = await uow.session.get(RandomizationCandidate, event.subject_id)
    if candidate is not None and candidate.latest_screening_id == str(payload.screening_id):
        await _apply_decision(uow, head, candidate, decision)
        return
    parked = await uow.session.get(PendingDecision, decision.screening_id)
    if parked is not None and decision.occurred_at < parked.occurred_at:
        return  # a more recent decision about that screening is parked already
    log.info("%s for screening %s of subject %s, not her latest screening (%s): parked until "
             "that screening arrives (event %s)", event.event_type, payload.screening_id,
             event.subject_id, candidate.latest_screening_id if candidate else "none",
             event.event_id)
    if parked is None:
        uow.session.add(decision)
        return
    for field in ("decision", "reason", "failed_criteria", "event_type", "event_id", "producer",
                  "occurred_at"):
        setattr(parked, field, getattr(decision, field))
    parked.parked_at, parked.applied_at = utcnow(), None
    uow.session.add(parked)


async def on_prediction_completed(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Apply a prediction unless a newer (or the same) version was already applied."""
    payload: PredictionCompleted = event.payload
    head = await audit.lock_head(uow.session)
    prediction = await uow.session.get(SubjectPrediction, event.subject_id)
    if prediction is not None and payload.version <= prediction.version:
        return
    prediction = prediction or SubjectPrediction(
        subject_id=event.subject_id, site_id=event.site_id, prediction_id="", version=0,
        classification="")
    prediction.prediction_id = str(payload.prediction_id)
    prediction.version = payload.version
    prediction.classification = payload.classification
    prediction.received_at = utcnow()
    uow.session.add(prediction)
    if payload.classification != HIGHLY_LIKELY:
        await _finding_if_randomized(uow, head, event.subject_id, Source.of(event),
                                     f"prediction version {payload.version} is "
                                     f"{payload.classification}")


HANDLERS = {
    "eligibility.screened": on_subject_screened,
    "eligibility.confirmed": on_eligibility_decided,
    "eligibility.rejected": on_eligibility_decided,
    "prediction.completed": on_prediction_completed,
}
