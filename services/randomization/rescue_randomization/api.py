"""HTTP API of the randomization service."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from rescue_randomization.tables import RandomizationCandidate
from rescue_shared.auth import AnyTrialRole, ensure_same_site
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["candidates"])


class Candidate(BaseModel):
    subject_id: str
    site_id: str
    latest_screening_id: str
    screening_outcome: str
    awaiting_prediction: bool
    screenings_seen: int
    first_seen_at: datetime


@router.get("/candidates/{subject_id}", response_model=Candidate,
            summary="What randomization knows about a subject")
async def get_candidate(
    subject_id: str, principal: AnyTrialRole, uow: UoW
) -> RandomizationCandidate:
    candidate = await uow.session.get(RandomizationCandidate, subject_id)
    ensure_same_site(principal, candidate.site_id if candidate else None, f"subject {subject_id}")
    assert candidate is not None
    return candidate
