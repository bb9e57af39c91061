"""Event handlers: what the prediction service learns from other services."""

from __future__ import annotations

from typing import Any

from rescue_prediction.predictions import has_inputs, recompute
from rescue_prediction.quarantine import quarantine_inputs
from rescue_prediction.tables import PredictionSubject
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.db.insert_if_absent import get_or_insert_locked
from rescue_shared.db.unit_of_work import UnitOfWork


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Remember the subject and the screening facts the AGO and iMODEL scores need; when she
    already has CA-125 values or an official KELIM, recompute her prediction with the new facts.

    Her site may have sent values before this event arrived (she is then provisional): they are
    used now, as if they had come after it. If the screening names another site, those values
    are quarantined instead (kept, never used) and she becomes the screening site's subject.
    """
    payload: SubjectScreened = event.payload
    subject, _ = await get_or_insert_locked(
        uow.session, PredictionSubject, event.subject_id,
        {"subject_id": event.subject_id, "site_id": event.site_id})
    if subject.awaiting_screening and subject.site_id != event.site_id:
        await quarantine_inputs(uow, subject, event.site_id, str(payload.screening_id))
        subject.site_id = event.site_id
    subject.latest_screening_id = str(payload.screening_id)
    subject.latest_screening_outcome = payload.outcome
    subject.clinical_facts = dict(payload.clinical_facts)
    subject.screenings_seen += 1
    uow.session.add(subject)
    await uow.session.flush()
    if await has_inputs(uow, subject.subject_id):
        await recompute(uow, subject, "screening", causation_id=str(event.event_id))


HANDLERS = {"eligibility.screened": on_subject_screened}
