"""Event handlers: what eligibility learns from the other services, each translated into a use
case.

Registered by payload model (`HANDLERS`; the contract registry checks every key). Every handler
runs inside the consumer's unit of work with inbox deduplication (a redelivered event is applied
once) and none commits: the consumer commits the effect with its inbox row. Order independence
is the use case's (`service_layer/decisions.py`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from rescue_eligibility.service_layer.decisions import apply_prediction
from rescue_eligibility.service_layer.unit_of_work import EligibilityUnitOfWork
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import PredictionCompleted
from rescue_shared.messaging.consumer import EventHandler


async def on_prediction_completed(
    uow: EligibilityUnitOfWork, event: EventEnvelope[PredictionCompleted]
) -> None:
    await apply_prediction(uow, event.payload, subject_id=event.subject_id,
                           site_id=event.site_id, causation_id=str(event.event_id))


HANDLERS: Mapping[type[BaseModel] | str, EventHandler] = {
    PredictionCompleted: on_prediction_completed,
}
