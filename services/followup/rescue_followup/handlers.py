"""Event handlers: what follow-up records from the other services.

Every handler runs inside the consumer's transaction with inbox deduplication (a redelivered
event is applied once); none commits. Beyond that, each is idempotent on the facts themselves:
a second `randomization.assigned` for a registered subject (a republished allocation with a new
event id) registers nothing.

Every handler is order-independent (a replayed event may overtake another; nothing is dropped):
- `randomization.invalidated` before its `randomization.assigned`: parked
  (`followup_pending_invalidation`, keyed by subject and randomization number) and applied when
  the allocation arrives.
- `eligibility.confirmed` / `rejected`: the decision that occurred last is kept, whatever the
  arrival order (an older one arriving later changes nothing).
- `eligibility.screened`: every screening is recorded with when it occurred; the latest is the
  one that occurred last (CONSORT).
- `prediction.completed`: the highest version is kept.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from rescue_followup.domain.schedule import build_schedule
from rescue_followup.protocol import CURRENT_VERSION, load_protocol
from rescue_followup.tables import (
    EligibilityDecision,
    FollowupSubject,
    PendingInvalidation,
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
from rescue_shared.db.platform_tables import utcnow
from rescue_shared.db.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Count the screening for the CONSORT flow (with when it occurred: the latest counts)."""
    payload: SubjectScreened = event.payload
    uow.session.add(
        ScreeningRecord(
            event_id=str(event.event_id), screening_id=str(payload.screening_id),
            subject_id=event.subject_id, site_id=event.site_id,
            screening_date=payload.screening_date, outcome=payload.outcome,
            failed_criteria=list(payload.failed_criteria), occurred_at=event.occurred_at,
        )
    )


async def on_eligibility_decided(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Keep the subject's latest final decision: the one that occurred last.

    Eligibility decides only a subject's latest screening, so a decision about an older
    screening occurred before any decision about a newer one: arriving late (a replay), it is
    older than the decision kept and changes nothing.
    """
    payload: EligibilityConfirmed | EligibilityRejected = event.payload
    decision = await uow.session.get(EligibilityDecision, event.subject_id)
    if decision is None:
        decision = EligibilityDecision(subject_id=event.subject_id, site_id=event.site_id,
                                       screening_id="", decision="", event_id="",
                                       decided_at=event.occurred_at)
    elif event.occurred_at < decision.decided_at:
        log.info("%s of %s for screening %s of subject %s occurred before the decision kept "
                 "(%s, screening %s): kept as it is (event %s)", event.event_type,
                 event.occurred_at, payload.screening_id, event.subject_id, decision.decided_at,
                 decision.screening_id, event.event_id)
        return
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
    subject = FollowupSubject(
        subject_id=event.subject_id, site_id=event.site_id,
        randomization_number=payload.randomization_number, arm=payload.arm,
        stratum=dict(payload.stratum), randomization_date=payload.randomization_date,
        scheme=payload.scheme, protocol_version=protocol.version,
        assigned_event_id=str(event.event_id),
    )
    uow.session.add(subject)
    uow.session.add_all(
        Visit(subject_id=event.subject_id, number=v.number, month=v.month,
              target_date=v.target_date, window_start=v.window_start, window_end=v.window_end)
        for v in build_schedule(payload.randomization_date, protocol.visit_schedule))
    parked = await uow.session.get(
        PendingInvalidation, (event.subject_id, payload.randomization_number))
    if parked is not None and parked.applied_at is None:
        log.info("applying the invalidation of %s of subject %s parked before her allocation "
                 "arrived (event %s)", parked.randomization_number, event.subject_id,
                 parked.event_id)
        _invalidate(subject, parked.invalidated_at, parked.reason)
        parked.applied_at = utcnow()
        uow.session.add(parked)


def _invalidate(subject: FollowupSubject, at: datetime, reason: str) -> None:
    subject.invalidated = True
    subject.invalidated_at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    subject.invalidation_reason = reason


async def on_randomization_invalidated(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Flag the allocation (never deleted): the excluding_invalidated population drops it.

    An invalidation arriving before the allocation it names is parked and applied when the
    allocation arrives (the sensitivity population must never miss it).
    """
    payload: RandomizationInvalidated = event.payload
    subject = (await uow.session.exec(
        select(FollowupSubject).where(FollowupSubject.subject_id == event.subject_id)
        .where(FollowupSubject.randomization_number == payload.randomization_number))).first()
    if subject is not None:
        _invalidate(subject, payload.invalidated_at, payload.reason)
        uow.session.add(subject)
        return
    key = (event.subject_id, payload.randomization_number)
    if await uow.session.get(PendingInvalidation, key) is not None:
        return  # parked already (an allocation is invalidated once)
    at = payload.invalidated_at
    log.info("invalidation of allocation %s of subject %s arrived before the allocation: "
             "parked until it arrives (event %s)", payload.randomization_number,
             event.subject_id, event.event_id)
    uow.session.add(PendingInvalidation(
        subject_id=event.subject_id, randomization_number=payload.randomization_number,
        site_id=event.site_id, reason=payload.reason, invalidated_by=payload.invalidated_by,
        invalidated_at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
        event_id=str(event.event_id)))


HANDLERS = {
    "eligibility.screened": on_subject_screened,
    "eligibility.confirmed": on_eligibility_decided,
    "eligibility.rejected": on_eligibility_decided,
    "prediction.completed": on_prediction_completed,
    "randomization.assigned": on_randomization_assigned,
    "randomization.invalidated": on_randomization_invalidated,
}
