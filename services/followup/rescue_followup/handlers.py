"""Event handlers: what follow-up records from the other services.

Every handler runs inside the consumer's transaction with inbox deduplication (a redelivered
event is applied once); none commits. Beyond that, each is idempotent on the facts themselves:
a second `randomization.assigned` for a registered subject (a republished allocation with a new
event id) registers nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from sqlmodel import select

from rescue_followup.domain.schedule import build_schedule
from rescue_followup.protocol import CURRENT_VERSION, load_protocol
from rescue_followup.tables import (
    EligibilityDecision,
    FollowupSubject,
    PredictionRecord,
    ScreeningRecord,
    Visit,
)
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    RandomizationAssigned,
    RandomizationInvalidated,
    SubjectScreened,
)
from rescue_shared.db.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Count the screening for the CONSORT flow."""
    payload: SubjectScreened = event.payload
    uow.session.add(
        ScreeningRecord(
            event_id=str(event.event_id), screening_id=str(payload.screening_id),
            subject_id=event.subject_id, site_id=event.site_id,
            screening_date=payload.screening_date, outcome=payload.outcome,
            failed_criteria=list(payload.failed_criteria),
        )
    )


async def on_eligibility_decided(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Keep the subject's latest final decision (events of a subject arrive in order)."""
    payload: EligibilityConfirmed | EligibilityRejected = event.payload
    decision = await uow.session.get(EligibilityDecision, event.subject_id)
    if decision is None:
        decision = EligibilityDecision(subject_id=event.subject_id, site_id=event.site_id,
                                       screening_id="", decision="", event_id="",
                                       decided_at=event.occurred_at)
    decision.screening_id = str(payload.screening_id)
    decision.event_id = str(event.event_id)
    decision.decided_at = event.occurred_at
    if isinstance(payload, EligibilityRejected):
        decision.decision = "rejected"
        decision.failed_criteria = list(payload.failed_criteria)
        decision.reason = payload.reason
    else:
        decision.decision = "confirmed"
        decision.failed_criteria = []
        decision.reason = None
    uow.session.add(decision)


async def on_prediction_completed(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Keep the latest prediction version (versions may cross in time)."""
    payload: PredictionCompleted = event.payload
    record = await uow.session.get(PredictionRecord, event.subject_id)
    if record is not None and payload.version <= record.version:
        return
    record = record or PredictionRecord(subject_id=event.subject_id, site_id=event.site_id,
                                        prediction_id="", version=0, classification="")
    record.prediction_id = str(payload.prediction_id)
    record.version = payload.version
    record.classification = payload.classification
    uow.session.add(record)


async def on_randomization_assigned(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Register the subject and create her visit schedule from the protocol in force."""
    payload: RandomizationAssigned = event.payload
    existing = await uow.session.get(FollowupSubject, event.subject_id)
    if existing is not None:
        if existing.randomization_number != payload.randomization_number:
            log.warning("subject %s is registered with randomization %s; ignoring allocation %s "
                        "(event %s)", event.subject_id, existing.randomization_number,
                        payload.randomization_number, event.event_id)
        return
    protocol = load_protocol(CURRENT_VERSION)
    uow.session.add(FollowupSubject(
        subject_id=event.subject_id, site_id=event.site_id,
        randomization_number=payload.randomization_number, arm=payload.arm,
        stratum=dict(payload.stratum), randomization_date=payload.randomization_date,
        scheme=payload.scheme, protocol_version=protocol.version,
        assigned_event_id=str(event.event_id),
    ))
    uow.session.add_all(
        Visit(subject_id=event.subject_id, number=v.number, month=v.month,
              target_date=v.target_date, window_start=v.window_start, window_end=v.window_end)
        for v in build_schedule(payload.randomization_date, protocol.visit_schedule))


async def on_randomization_invalidated(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Flag the allocation (never deleted): the excluding_invalidated population drops it."""
    payload: RandomizationInvalidated = event.payload
    subject = (await uow.session.exec(
        select(FollowupSubject).where(FollowupSubject.subject_id == event.subject_id)
        .where(FollowupSubject.randomization_number == payload.randomization_number))).first()
    if subject is None:
        log.warning("invalidation of unknown allocation %s of subject %s (event %s) ignored",
                    payload.randomization_number, event.subject_id, event.event_id)
        return
    at = payload.invalidated_at
    subject.invalidated = True
    subject.invalidated_at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    subject.invalidation_reason = payload.reason
    uow.session.add(subject)


HANDLERS = {
    "eligibility.screened": on_subject_screened,
    "eligibility.confirmed": on_eligibility_decided,
    "eligibility.rejected": on_eligibility_decided,
    "prediction.completed": on_prediction_completed,
    "randomization.assigned": on_randomization_assigned,
    "randomization.invalidated": on_randomization_invalidated,
}
