"""HTTP API of the prediction service."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from rescue_prediction.tables import PredictionSubject
from rescue_shared.auth import AnyTrialRole, ensure_same_site
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["subjects"])


class KnownSubject(BaseModel):
    subject_id: str
    site_id: str
    latest_screening_id: str
    latest_screening_outcome: str
    screenings_seen: int
    first_seen_at: datetime


@router.get("/subjects/{subject_id}", response_model=KnownSubject,
            summary="A subject known from eligibility screenings")
async def get_subject(subject_id: str, principal: AnyTrialRole, uow: UoW) -> PredictionSubject:
    subject = await uow.session.get(PredictionSubject, subject_id)
    ensure_same_site(principal, subject.site_id if subject else None, f"subject {subject_id}")
    assert subject is not None
    return subject
