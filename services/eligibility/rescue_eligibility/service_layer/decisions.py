"""Final eligibility: apply the latest complete-resection prediction to the latest screening.

Emits `eligibility.confirmed` / `eligibility.rejected` when the final decision changes, in the
same unit of work as the change (outbox), so each decision is announced exactly once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from rescue_eligibility.domain.audit_records import prediction_applied_record, screening_record
from rescue_eligibility.domain.evaluation import finalize
from rescue_eligibility.domain.model import Screening, Subject
from rescue_eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
)


def decide(uow: EligibilityUnitOfWork, screening: Screening, subject: Subject,
           causation_id: str | None = None) -> bool:
    """Finalize `screening` with the subject's latest prediction, if there is one, and announce a
    changed final decision. Whether the screening changed (the caller stores it)."""
    if subject.prediction_classification is None:
        return False
    previous = screening.final_decision
    final = finalize(screening.result, subject.prediction_classification)
    screening.final_result = final
    screening.prediction_id = subject.prediction_id
    if final.final_decision == previous or final.final_decision == "pending":
        return True
    screening.decided_at = datetime.now(UTC)
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
    uow.emit(payload, site_id=screening.site_id, subject_id=screening.subject_id,
             causation_id=causation_id)
    return True


async def apply_prediction(uow: EligibilityUnitOfWork, prediction: PredictionCompleted, *,
                           subject_id: str, site_id: str, causation_id: str | None = None,
                           ) -> None:
    """Apply a prediction unless a newer one was already applied (versions may cross).

    Order-independent: a prediction before any screening is kept on her row (registered here,
    claimed as a screening claims it, so the two never collide) and decides her first screening
    when it comes; an older version after a newer one changes nothing. Runs in the consumer's
    unit of work, which commits it with the inbox row. Audited (`prediction.applied`, and
    `screening.decided` when her latest screening changes) as the consumer applying the event."""
    subject = await uow.subjects.claim(subject_id, site_id)
    if subject.prediction_version is not None and (
        prediction.version <= subject.prediction_version
    ):
        return
    actor = Actor.consumer(causation_id)
    before = prediction_applied_record(subject)
    subject.prediction_id = str(prediction.prediction_id)
    subject.prediction_version = prediction.version
    subject.prediction_classification = prediction.classification
    await uow.subjects.save(subject)
    uow.audit.record(AuditDraft(
        action="prediction.applied", actor=actor, site_id=subject.site_id,
        subject_id=subject_id, before=before if before["version"] is not None else None,
        after=prediction_applied_record(subject)))
    if subject.latest_screening_id is None:
        return
    screening = await uow.screenings.get(subject.latest_screening_id)
    if screening is None:
        raise LookupError(f"latest screening {subject.latest_screening_id} of {subject_id} "
                          "is missing")
    screening_before = screening_record(screening)
    if decide(uow, screening, subject, causation_id=causation_id):
        await uow.screenings.save(screening)
        uow.audit.record(AuditDraft(
            action="screening.decided", actor=actor, site_id=screening.site_id,
            subject_id=subject_id, before=screening_before, after=screening_record(screening)))
