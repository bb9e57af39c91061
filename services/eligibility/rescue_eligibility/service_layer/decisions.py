"""Final eligibility: apply the latest complete-resection prediction to the latest screening.

Emits `eligibility.confirmed` / `eligibility.rejected` when the final decision changes, in the
same transaction as the change (outbox), so each decision is announced exactly once.
"""

from __future__ import annotations

import uuid
from typing import Any

from rescue_eligibility.domain.evaluation import ScreeningResult, finalize
from rescue_eligibility.tables import EligibilitySubject, Screening
from rescue_shared.contracts import new_event
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
)
from rescue_shared.db.insert_if_absent import get_or_insert_locked
from rescue_shared.db.platform_tables import utcnow
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.observability.context import current_correlation_id


def decide(uow: UnitOfWork, screening: Screening, subject: EligibilitySubject,
           causation_id: str | None = None) -> None:
    """Finalize `screening` with the subject's latest prediction, if there is one."""
    settings = uow.settings
    if subject.prediction_classification is None:
        return
    final = finalize(ScreeningResult.model_validate(screening.result),
                     subject.prediction_classification)  # type: ignore[arg-type]
    previous = screening.final_decision
    screening.final_result = final.model_dump(mode="json")
    screening.final_decision = final.final_decision
    screening.prediction_id = subject.prediction_id
    uow.session.add(screening)
    if final.final_decision == previous or final.final_decision == "pending":
        return
    screening.decided_at = utcnow()
    prediction_id = uuid.UUID(subject.prediction_id) if subject.prediction_id else None
    payload: EligibilityConfirmed | EligibilityRejected
    if final.final_decision == "eligible":
        payload = EligibilityConfirmed(screening_id=uuid.UUID(screening.id),
                                       protocol_version=screening.protocol_version,
                                       prediction_id=prediction_id)
    else:
        payload = EligibilityRejected(screening_id=uuid.UUID(screening.id),
                                      protocol_version=screening.protocol_version,
                                      failed_criteria=list(final.failed_criteria),
                                      reason=final.rejection_reason(),
                                      prediction_id=prediction_id)
    uow.emit(new_event(payload, producer=settings.service_name, trial_id=settings.trial_id,
                       site_id=screening.site_id, subject_id=screening.subject_id,
                       correlation_id=current_correlation_id(), causation_id=causation_id))


async def on_prediction_completed(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Apply a prediction unless a newer one was already applied (versions may cross).

    Order-independent: a prediction before any screening is stored and decides her screening
    when it arrives (`decide` at screening time); an older version after a newer one changes
    nothing."""
    prediction: PredictionCompleted = event.payload
    # A prediction may come before her first screening (a replayed or overtaking event): it is
    # kept on her row, created here, and her first screening is decided at once with it. The
    # row is inserted or locked as a screening does, so the two never collide.
    subject, _ = await get_or_insert_locked(
        uow.session, EligibilitySubject, event.subject_id,
        {"subject_id": event.subject_id, "site_id": event.site_id})
    if subject.prediction_version is not None and (
        prediction.version <= subject.prediction_version
    ):
        return
    subject.prediction_id = str(prediction.prediction_id)
    subject.prediction_version = prediction.version
    subject.prediction_classification = prediction.classification
    uow.session.add(subject)
    if subject.latest_screening_id is not None:
        screening = await uow.session.get(Screening, subject.latest_screening_id)
        assert screening is not None
        decide(uow, screening, subject, causation_id=str(event.event_id))
