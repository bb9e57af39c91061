"""Event handlers: what follow-up learns from the other services, each translated into a use case.

Registered by payload model (`HANDLERS`; the contract registry checks every key, and the consumer
counts and logs event types it does not handle). Every handler runs inside the consumer's unit of
work with inbox deduplication (a redelivered event is applied once) and none commits: the
consumer commits the effect with its inbox row. Order independence and idempotence on the facts
are the use cases' (`service_layer/registration.py`, `service_layer/announced.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from rescue_followup.domain.model import Screening
from rescue_followup.service_layer import announced, registration
from rescue_followup.service_layer.unit_of_work import FollowupUnitOfWork
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    RandomizationAssigned,
    RandomizationInvalidated,
    RandomizationStrataVerified,
    SubjectScreened,
)
from rescue_shared.messaging.consumer import EventHandler


async def on_subject_screened(
    uow: FollowupUnitOfWork, event: EventEnvelope[SubjectScreened]
) -> None:
    payload = event.payload
    await announced.record_screening(uow, Screening(
        event_id=str(event.event_id), screening_id=str(payload.screening_id),
        subject_id=event.subject_id, site_id=event.site_id,
        screening_date=payload.screening_date, outcome=payload.outcome,
        failed_criteria=list(payload.failed_criteria), occurred_at=event.occurred_at))


async def on_eligibility_confirmed(
    uow: FollowupUnitOfWork, event: EventEnvelope[EligibilityConfirmed]
) -> None:
    await announced.keep_latest_decision(
        uow, subject_id=event.subject_id, site_id=event.site_id,
        screening_id=str(event.payload.screening_id), decision="confirmed", failed_criteria=[],
        reason=None, event_id=str(event.event_id), occurred_at=event.occurred_at,
        event_type=event.event_type)


async def on_eligibility_rejected(
    uow: FollowupUnitOfWork, event: EventEnvelope[EligibilityRejected]
) -> None:
    payload = event.payload
    await announced.keep_latest_decision(
        uow, subject_id=event.subject_id, site_id=event.site_id,
        screening_id=str(payload.screening_id), decision="rejected",
        failed_criteria=list(payload.failed_criteria), reason=payload.reason,
        event_id=str(event.event_id), occurred_at=event.occurred_at,
        event_type=event.event_type)


async def on_prediction_completed(
    uow: FollowupUnitOfWork, event: EventEnvelope[PredictionCompleted]
) -> None:
    payload = event.payload
    await announced.keep_latest_prediction(
        uow, subject_id=event.subject_id, site_id=event.site_id,
        prediction_id=str(payload.prediction_id), version=payload.version,
        classification=payload.classification, event_id=str(event.event_id))


async def on_randomization_assigned(
    uow: FollowupUnitOfWork, event: EventEnvelope[RandomizationAssigned]
) -> None:
    payload = event.payload
    await registration.register_subject(
        uow, subject_id=event.subject_id, site_id=event.site_id,
        randomization_number=payload.randomization_number, arm=payload.arm,
        stratum=dict(payload.stratum), randomization_date=payload.randomization_date,
        scheme=payload.scheme, event_id=str(event.event_id))


async def on_randomization_invalidated(
    uow: FollowupUnitOfWork, event: EventEnvelope[RandomizationInvalidated]
) -> None:
    payload = event.payload
    await registration.invalidate_allocation(
        uow, subject_id=event.subject_id, site_id=event.site_id,
        randomization_number=payload.randomization_number, reason=payload.reason,
        invalidated_by=payload.invalidated_by, invalidated_at=payload.invalidated_at,
        event_id=str(event.event_id))


async def on_randomization_strata_verified(
    uow: FollowupUnitOfWork, event: EventEnvelope[RandomizationStrataVerified]
) -> None:
    payload = event.payload
    await registration.record_verified_strata(
        uow, subject_id=event.subject_id, randomization_number=payload.randomization_number,
        verified_stratum=dict(payload.verified_stratum), verified_at=payload.verified_at,
        event_id=str(event.event_id))


HANDLERS: Mapping[type[BaseModel] | str, EventHandler] = {
    SubjectScreened: on_subject_screened,
    EligibilityConfirmed: on_eligibility_confirmed,
    EligibilityRejected: on_eligibility_rejected,
    PredictionCompleted: on_prediction_completed,
    RandomizationAssigned: on_randomization_assigned,
    RandomizationInvalidated: on_randomization_invalidated,
    RandomizationStrataVerified: on_randomization_strata_verified,
}
