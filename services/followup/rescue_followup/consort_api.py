"""The CONSORT flow, as JSON and as an SVG diagram."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlmodel import col, select

from rescue_followup.consort import ConsortFlow, build_consort
from rescue_followup.consort_svg import render_consort_svg
from rescue_followup.domain.analysis import Population
from rescue_followup.store import release, subjects_with_records
from rescue_followup.tables import EligibilityDecision, PredictionRecord, ScreeningRecord
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["consort"])
TrialTeam = Annotated[
    Principal, Depends(require_roles("statistician", "monitor", "admin", "investigator"))
]
PopulationQuery = Annotated[Population, Query(
    description="Population of the 'analysed' boxes (itt, or excluding_invalidated).")]


async def consort_flow(principal: Principal, uow: UoW, population: Population) -> ConsortFlow:
    """Investigators see their own site's flow; the trial team sees the whole trial."""
    site = None if principal.sees_all_sites else (principal.site_id or "")
    screenings = select(ScreeningRecord).order_by(col(ScreeningRecord.id))
    decisions = select(EligibilityDecision)
    predictions = select(PredictionRecord)
    if site is not None:
        screenings = screenings.where(ScreeningRecord.site_id == site)
        decisions = decisions.where(EligibilityDecision.site_id == site)
        predictions = predictions.where(PredictionRecord.site_id == site)
    session = uow.session
    subjects, records = await subjects_with_records(session, site)
    screened = (await session.exec(screenings)).all()
    decided = (await session.exec(decisions)).all()
    predicted = (await session.exec(predictions)).all()
    await release(session)
    return build_consort(screened, decided, predicted, subjects, records, population)


@router.get("/consort", response_model=ConsortFlow,
            summary="CONSORT flow: screened, excluded (with reasons), randomized, followed, "
                    "analysed")
async def consort(
    principal: TrialTeam, uow: UoW, population: PopulationQuery = "itt"
) -> ConsortFlow:
    return await consort_flow(principal, uow, population)


@router.get("/consort.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}},
            summary="The CONSORT flow diagram (SVG)")
async def consort_svg(
    principal: TrialTeam, uow: UoW, population: PopulationQuery = "itt"
) -> Response:
    flow = await consort_flow(principal, uow, population)
    return Response(render_consort_svg(flow), media_type="image/svg+xml")
