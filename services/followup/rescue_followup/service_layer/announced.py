"""What other services announced, kept for the CONSORT flow (from `eligibility.screened`,
`eligibility.confirmed` / `rejected` and `prediction.completed`).

Run inside the consumer's transaction (it commits with the inbox row). Order-independent
(docs/reliability.md § Events that may arrive out of order): every screening is recorded with when
it occurred (the latest is the one that occurred last); the decision that occurred last is kept;
the highest prediction version is kept.
"""

from __future__ import annotations

import datetime as dt
import logging

from rescue_followup.domain.audit_records import (
    decision_record,
    prediction_record,
    screening_record,
)
from rescue_followup.domain.model import DecisionKind, EligibilityDecision, Prediction, Screening
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.audit.chain import Actor, AuditDraft

log = logging.getLogger(__name__)


async def record_screening(uow: FollowupUnitOfWork, screening: Screening) -> None:
    """Count the screening for the CONSORT flow (with when it occurred: the latest counts)."""
    await uow.screenings.add(screening)
    uow.audit.record(AuditDraft(action="screening.applied",
                                actor=Actor.consumer(screening.event_id),
                                site_id=screening.site_id, subject_id=screening.subject_id,
                                after=screening_record(screening)))


async def keep_latest_decision(
    uow: FollowupUnitOfWork, *, subject_id: str, site_id: str, screening_id: str,
    decision: DecisionKind, failed_criteria: list[str], reason: str | None, event_id: str,
    occurred_at: dt.datetime, event_type: str,
) -> None:
    """Keep the subject's latest final decision: the one that occurred last.

    Eligibility decides only a subject's latest screening, so a decision about an older
    screening occurred before any decision about a newer one: arriving late (a replay), it is
    older than the decision kept and changes nothing.
    """
    kept = await uow.decisions.get(subject_id)
    if kept is not None and occurred_at < kept.decided_at:
        log.info("%s of %s for screening %s of subject %s occurred before the decision kept "
                 "(%s, screening %s): kept as it is (event %s)", event_type, occurred_at,
                 screening_id, subject_id, kept.decided_at, kept.screening_id, event_id)
        return
    latest = EligibilityDecision(
        subject_id=subject_id, site_id=kept.site_id if kept is not None else site_id,
        screening_id=screening_id, decision=decision, event_id=event_id, decided_at=occurred_at,
        failed_criteria=list(failed_criteria) if decision == "rejected" else [],
        reason=reason if decision == "rejected" else None)
    await uow.decisions.save(latest)
    uow.audit.record(AuditDraft(action="eligibility_decision.applied",
                                actor=Actor.consumer(event_id), site_id=latest.site_id,
                                subject_id=subject_id,
                                before=decision_record(kept) if kept is not None else None,
                                after=decision_record(latest)))


async def keep_latest_prediction(
    uow: FollowupUnitOfWork, *, subject_id: str, site_id: str, prediction_id: str, version: int,
    classification: str, event_id: str | None = None,
) -> None:
    """Keep the latest prediction version (versions may cross in time)."""
    kept = await uow.predictions.get(subject_id)
    if kept is not None and version <= kept.version:
        return
    latest = Prediction(
        subject_id=subject_id, site_id=kept.site_id if kept is not None else site_id,
        prediction_id=prediction_id, version=version, classification=classification)
    await uow.predictions.save(latest)
    uow.audit.record(AuditDraft(action="prediction.applied", actor=Actor.consumer(event_id),
                                site_id=latest.site_id, subject_id=subject_id,
                                before=prediction_record(kept) if kept is not None else None,
                                after=prediction_record(latest)))
