"""Screenings: screen a candidate, read one screening, read a subject's history."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rescue_eligibility.entrypoints.http.dependencies import Screener, UoW
from rescue_eligibility.entrypoints.http.schemas import ScreeningRequest, ScreeningView, SubjectId
from rescue_eligibility.service_layer import screenings
from rescue_eligibility.service_layer.subject_ids import unavailable
from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problem_types import ProblemType

router = APIRouter(prefix="/v1", tags=["screenings"])


@router.post("/screenings", status_code=201, response_model=ScreeningView,
             summary="Screen a candidate against the protocol's criteria",
             responses={422: {"description": "Invalid request, or a subject id the site may "
                                             "not use (rule `unavailable`: the same answer "
                                             "whatever the cause)",
                              "content": {"application/problem+json": {"example": {
                                  "type": ProblemType.VALIDATION_ERROR,
                                  "title": "Invalid request",
                                  "status": 422, "detail": "invalid field(s): subject_id",
                                  "instance": "/v1/screenings",
                                  "errors": unavailable().extensions["errors"]}}}}})
async def create_screening(body: ScreeningRequest, principal: Screener, uow: UoW) -> ScreeningView:
    """Judge the facts against every criterion of the protocol version in force.

    A subject may be re-screened; her latest screening counts. If a complete-resection
    prediction is already known for her, the final decision is made at once. A subject id the
    site may not use (another site's subject, a reserved or confusable id) is refused with one
    and the same 422 whatever the cause; the attempt is recorded for the monitors.
    """
    screening = await screenings.screen_subject(
        uow, principal, subject_id=body.subject_id, screening_date=body.screening_date,
        facts=body.facts, site_id=body.site_id)
    return ScreeningView.of(screening)


@router.get("/screenings/{screening_id}", response_model=ScreeningView,
            summary="One screening with its per-criterion results")
async def get_screening(
    screening_id: uuid.UUID, principal: AnyTrialRole, uow: UoW
) -> ScreeningView:
    return ScreeningView.of(await screenings.get_screening(uow, principal, str(screening_id)))


@router.get("/subjects/{subject_id}/screenings", response_model=list[ScreeningView],
            summary="A subject's screenings, oldest first (the latest counts)")
async def subject_screenings(
    subject_id: SubjectId, principal: AnyTrialRole, uow: UoW
) -> list[ScreeningView]:
    return [ScreeningView.of(s)
            for s in await screenings.screening_history(uow, principal, subject_id)]
