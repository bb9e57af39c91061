"""Event handlers: what the prediction service learns from other services, keyed by payload
model (checked against the contract registry by tests/unit/test_event_handlers_registry.py)."""

from __future__ import annotations

from pydantic import BaseModel

from rescue_prediction.adapters.unit_of_work import SqlPredictionUnitOfWork
from rescue_prediction.service_layer.screening import Screening, subject_screened
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.messaging.consumer import EventHandler


async def on_subject_screened(uow: SqlPredictionUnitOfWork,
                              event: EventEnvelope[SubjectScreened]) -> None:
    """`eligibility.screened` → `subject_screened` (the consumer commits, with its inbox row)."""
    payload = event.payload
    await subject_screened(uow, Screening(
        subject_id=event.subject_id, site_id=event.site_id,
        screening_id=str(payload.screening_id), outcome=payload.outcome,
        clinical_facts=dict(payload.clinical_facts), event_id=str(event.event_id)))


HANDLERS: dict[type[BaseModel] | str, EventHandler] = {SubjectScreened: on_subject_screened}
