"""Event handlers: each translates another service's event into a use case of
`service_layer/subject_updates.py` (docs/reliability.md, "Events that may arrive out of order").

Registered by payload model; `tests/unit/test_event_handlers_registry.py` (repository root) checks
them against the contract registry, and the consumer counts and logs the types it skips.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from rescue_randomization.service_layer.subject_updates import (
    Origin,
    record_eligibility_decision,
    record_prediction,
    record_screening,
)
from rescue_randomization.service_layer.unit_of_work import RandomizationUnitOfWork
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import (
    EligibilityConfirmed,
    EligibilityRejected,
    PredictionCompleted,
    SubjectScreened,
)
from rescue_shared.messaging.consumer import EventHandler


def origin_of(event: EventEnvelope[Any]) -> Origin:
    return Origin(event_type=event.event_type, event_id=str(event.event_id),
                  producer=event.producer, occurred_at=event.occurred_at,
                  subject_id=event.subject_id, site_id=event.site_id)


async def on_subject_screened(uow: RandomizationUnitOfWork,
                              event: EventEnvelope[SubjectScreened]) -> None:
    await record_screening(uow, event.payload, origin_of(event))


async def on_eligibility_decided(
    uow: RandomizationUnitOfWork, event: EventEnvelope[EligibilityConfirmed | EligibilityRejected],
) -> None:
    await record_eligibility_decision(uow, event.payload, origin_of(event))


async def on_prediction_completed(uow: RandomizationUnitOfWork,
                                  event: EventEnvelope[PredictionCompleted]) -> None:
    await record_prediction(uow, event.payload, origin_of(event))


# Typed as ServiceDefinition.handlers takes them (keys are payload models only).
HANDLERS: Mapping[type[BaseModel] | str, EventHandler] = {
    SubjectScreened: on_subject_screened,
    EligibilityConfirmed: on_eligibility_decided,
    EligibilityRejected: on_eligibility_decided,
    PredictionCompleted: on_prediction_completed,
}
