"""HTTP API of the CONSORT flow, as JSON and as an SVG diagram."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from rescue_followup.adapters.consort_svg import render_consort_svg
from rescue_followup.domain.analysis import Population
from rescue_followup.domain.consort import ConsortFlow
from rescue_followup.entrypoints.http.dependencies import TrialTeam, UoW
from rescue_followup.service_layer.consort import consort_flow

router = APIRouter(prefix="/v1", tags=["consort"])
PopulationQuery = Annotated[Population, Query(
    description="Population of the 'analysed' boxes (itt, or excluding_invalidated).")]


@router.get("/consort", response_model=ConsortFlow,
            summary="CONSORT flow: screened, excluded (with reasons), randomized, followed, "
                    "analysed")
async def consort(
    principal: TrialTeam, uow: UoW, population: PopulationQuery = "itt"
) -> ConsortFlow:
    """Investigators see their own site's flow; the trial team sees the whole trial."""
    return await consort_flow(uow, principal, population)


@router.get("/consort.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}},
            summary="The CONSORT flow diagram (SVG)")
async def consort_svg(
    principal: TrialTeam, uow: UoW, population: PopulationQuery = "itt"
) -> Response:
    flow = await consort_flow(uow, principal, population)
    return Response(render_consort_svg(flow), media_type="image/svg+xml")
