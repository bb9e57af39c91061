"""Event handlers: what follow-up records from the other services."""

from __future__ import annotations

from typing import Any

from rescue_followup.tables import ScreeningRecord
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.db.unit_of_work import UnitOfWork


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Count the screening for the CONSORT flow."""
    payload: SubjectScreened = event.payload
    uow.session.add(
        ScreeningRecord(
            event_id=str(event.event_id), screening_id=str(payload.screening_id),
            subject_id=event.subject_id, site_id=event.site_id,
            screening_date=payload.screening_date, outcome=payload.outcome,
        )
    )


HANDLERS = {"eligibility.screened": on_subject_screened}
