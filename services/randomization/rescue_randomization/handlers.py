"""Event handlers: per subject, what randomization learns from eligibility and prediction.

Eligibility events of a subject arrive in order (one topic, keyed by subject): a screening resets
her final eligibility; `eligibility.confirmed` / `rejected` count only for her latest screening.
Predictions come on another topic: the highest version wins, whenever it arrives.

Every handler first locks the audit head, as allocations do: an event is applied either before an
allocation reads the subject (which then sees it) or after it (and then sees the allocation). News
that would have made an already randomized subject not randomizable is never silent: it is
appended to the audit trail as a `post_randomization_finding` for the monitors (her allocation
stands; an investigator decides whether to invalidate it).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import select

from rescue_randomization import audit
from rescue_randomization.randomizability import HIGHLY_LIKELY
from rescue_randomization.tables import (
    Allocation,
    AuditHead,
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


async def _finding_if_randomized(uow: UnitOfWork, head: AuditHead, event: EventEnvelope[Any],
                                 finding: str) -> None:
    allocation = (await uow.session.exec(select(Allocation).where(
        Allocation.subject_id == event.subject_id))).first()
    if allocation is None:
        return
    log.warning("subject %s, randomized as %s: %s (event %s)", event.subject_id,
                allocation.randomization_number, finding, event.event_id)
    audit.record(uow.session, head, "post_randomization_finding", f"event:{event.producer}", {
        "randomization_number": allocation.randomization_number, "finding": finding,
        "event_type": event.event_type, "event_id": str(event.event_id)},
        site_id=allocation.site_id, subject_id=event.subject_id)


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
    candidate.latest_screening_id = str(payload.screening_id)
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
        await _finding_if_randomized(uow, head, event, f"a new screening is {payload.outcome}")


async def on_eligibility_decided(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Final eligibility of the subject's latest screening (a stale screening's is ignored)."""
    payload: EligibilityConfirmed | EligibilityRejected = event.payload
    head = await audit.lock_head(uow.session)
    candidate = await uow.session.get(RandomizationCandidate, event.subject_id)
    if candidate is None or candidate.latest_screening_id != str(payload.screening_id):
        log.warning("%s for screening %s of subject %s is not her latest screening; ignored "
                    "(event %s)", event.event_type, payload.screening_id, event.subject_id,
                    event.event_id)
        return
    if isinstance(payload, EligibilityRejected):
        candidate.eligibility_status = "rejected"
        candidate.eligibility_reason = payload.reason
        candidate.failed_criteria = list(payload.failed_criteria)
        await _finding_if_randomized(uow, head, event,
                                     f"eligibility rejected: {payload.reason}")
    else:
        candidate.eligibility_status = "confirmed"
        candidate.eligibility_reason = None
    candidate.eligibility_decided_at = event.occurred_at
    uow.session.add(candidate)


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
        await _finding_if_randomized(uow, head, event, f"prediction version {payload.version} is "
                                                       f"{payload.classification}")


HANDLERS = {
    "eligibility.screened": on_subject_screened,
    "eligibility.confirmed": on_eligibility_decided,
    "eligibility.rejected": on_eligibility_decided,
    "prediction.completed": on_prediction_completed,
}
