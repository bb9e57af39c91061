"""Event handlers: randomization keeps, per subject, what it learns from the other services."""

from __future__ import annotations

from typing import Any

from rescue_randomization.tables import RandomizationCandidate
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.events import SubjectScreened
from rescue_shared.db.unit_of_work import UnitOfWork


async def on_subject_screened(uow: UnitOfWork, event: EventEnvelope[Any]) -> None:
    """The latest screening counts: a re-screened subject replaces her earlier result."""
    payload: SubjectScreened = event.payload
    candidate = await uow.session.get(RandomizationCandidate, event.subject_id)
    if candidate is None:
        candidate = RandomizationCandidate(
            subject_id=event.subject_id, site_id=event.site_id,
            latest_screening_id=str(payload.screening_id), screening_outcome=payload.outcome,
        )
    candidate.latest_screening_id = str(payload.screening_id)
    candidate.screening_outcome = payload.outcome
    candidate.awaiting_prediction = payload.awaiting_prediction
    candidate.screenings_seen += 1
    uow.session.add(candidate)


HANDLERS = {"eligibility.screened": on_subject_screened}
