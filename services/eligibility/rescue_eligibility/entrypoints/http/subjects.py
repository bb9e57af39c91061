"""The screened subjects of a site, each with her latest screening (a worklist's first column)."""

from __future__ import annotations

from fastapi import APIRouter

from rescue_eligibility.entrypoints.http.dependencies import LogReader, UoW
from rescue_eligibility.entrypoints.http.schemas import ScreeningView
from rescue_eligibility.service_layer import screenings

router = APIRouter(prefix="/v1", tags=["screenings"])


@router.get("/subjects", response_model=list[ScreeningView],
            summary="Every screened subject with her latest screening (newest first)")
async def screened_subjects(principal: LogReader, uow: UoW) -> list[ScreeningView]:
    """Site users and investigators see their own site's subjects; the trial team every site's."""
    return [ScreeningView.of(s) for s in await screenings.latest_screenings(uow, principal)]
