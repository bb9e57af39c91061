"""What randomization knows about a subject, and whether she can be randomized now."""

from __future__ import annotations

from fastapi import APIRouter

from rescue_randomization.entrypoints.http.dependencies import ProtocolVersion, UoW
from rescue_randomization.entrypoints.http.schemas import SubjectId
from rescue_randomization.service_layer.candidates import candidate_status
from rescue_randomization.service_layer.views import Candidate
from rescue_shared.auth import AnyTrialRole

router = APIRouter(prefix="/v1", tags=["candidates"])


@router.get("/candidates/{subject_id}", response_model=Candidate,
            summary="What randomization knows about a subject; the conditions she still misses")
async def get_candidate(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW, version: ProtocolVersion
) -> Candidate:
    return await candidate_status(uow, principal, subject_id, protocol_version=version)
