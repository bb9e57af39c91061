"""Event handlers: what the prediction service learns from other services."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from rescue_prediction.predictions import has_inputs, recompute
from rescue_prediction.tables import PredictionSubject
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.db.unit_of_work import UnitOfWork


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """Remember the subject and the screening facts the AGO and iMODEL scores need; when she
    already has CA-125 values or an official KELIM, recompute her prediction with the new facts."""
    payload: SubjectScreened = event.payload
    subject = (await uow.session.exec(
        select(PredictionSubject).where(PredictionSubject.subject_id == event.subject_id)
        .with_for_update())).first()
    if subject is None:
        subject = PredictionSubject(
            subject_id=event.subject_id, site_id=event.site_id,
            latest_screening_id=str(payload.screening_id),
            latest_screening_outcome=payload.outcome,
        )
    subject.latest_screening_id = str(payload.screening_id)
    subject.latest_screening_outcome = payload.outcome
    subject.clinical_facts = dict(payload.clinical_facts)
    subject.screenings_seen += 1
    uow.session.add(subject)
    await uow.session.flush()
    if await has_inputs(uow, subject.subject_id):
        await recompute(uow, subject, "screening", causation_id=str(event.event_id))


HANDLERS = {"eligibility.screened": on_subject_screened}
