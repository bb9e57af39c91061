"""Event handlers: per subject, what randomization learns from eligibility and prediction.

Eligibility events of a subject arrive in order (one topic, keyed by subject): a screening resets
her final eligibility; `eligibility.confirmed` / `rejected` count only for her latest screening.
Predictions come on another topic: the highest version wins, whenever it arrives.
"""

from __future__ import annotations

import logging
from typing import Any

from rescue_randomization.tables import RandomizationCandidate, SubjectPrediction
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


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """The latest screening counts: a re-screened subject replaces her earlier result."""
    payload: SubjectScreened = event.payload
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


async def on_eligibility_decided(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Final eligibility of the subject's latest screening (a stale screening's is ignored)."""
    payload: EligibilityConfirmed | EligibilityRejected = event.payload
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
    else:
        candidate.eligibility_status = "confirmed"
        candidate.eligibility_reason = None
    candidate.eligibility_decided_at = event.occurred_at
    uow.session.add(candidate)


async def on_prediction_completed(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Apply a prediction unless a newer (or the same) version was already applied."""
    payload: PredictionCompleted = event.payload
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


HANDLERS = {
    "eligibility.screened": on_subject_screened,
    "eligibility.confirmed": on_eligibility_decided,
    "eligibility.rejected": on_eligibility_decided,
    "prediction.completed": on_prediction_completed,
}
