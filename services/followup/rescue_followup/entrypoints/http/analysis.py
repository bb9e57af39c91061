"""HTTP API of the primary PFS analysis: live (from follow-up's records) or of a posted ADTTE
data set, its Kaplan-Meier figures and the ADTTE export (use cases in `service_layer/analysis.py`;
every figure agrees with R's survival package, docs/statistics.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response

from rescue_followup.adapters.memory import (
    paused_gc,
    release_free_memory,
    release_request_memory,
)
from rescue_followup.domain.adtte import write_adtte_csv
from rescue_followup.domain.analysis import PfsAnalysis, Population, Records
from rescue_followup.domain.protocol import StrataChoice
from rescue_followup.entrypoints.http.dependencies import Analyst, PopulationQuery, UoW
from rescue_followup.entrypoints.http.schemas import IsoDate
from rescue_followup.service_layer import analysis
from rescue_shared.http.problems import Problem

# From this many rows, a full collection after the response (0.1-0.2 s) is worth the memory it
# frees (15-25 MB after 100,000 rows); below, the trim alone.
FULL_COLLECTION_ROWS = 20_000


class MemoryRelease:
    """Gives a bulk request's memory back: its pages at once, its cycles after the response."""

    def __init__(self, background: BackgroundTasks) -> None:
        self._background = background

    def after(self, rows: int) -> None:
        release_free_memory()  # the request's arrays are freed: their pages go back at once
        if rows >= FULL_COLLECTION_ROWS:
            self._background.add_task(release_request_memory)


Release = Annotated[MemoryRelease, Depends()]
router = APIRouter(prefix="/v1", tags=["analysis"])
Cutoff = Annotated[IsoDate | None, Query(
    description="Data cut-off (YYYY-MM-DD): subjects randomized, records dated and records "
                "entered (UTC) after it are ignored.")]
CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "description": "ADTTE: USUBJID, ARM (SCS_CHEMO | CHEMO), STRATA "
    "(optional), STARTDT, ADT, AVAL, CNSR; optional PARAMCD, EVNTDESC, CNSDTDSC, INVALFL"}}}}}
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


class PfsAnalysisReport(PfsAnalysis):
    """The analysis read-out, the data cut-off it used (None: everything recorded) and the
    strata of its stratified log-rank and Cox (None: the STRATA column of a posted ADTTE)."""

    data_cutoff: dt.date | None = None
    strata: StrataChoice | None = None


StrataQuery = Annotated[StrataChoice | None, Query(
    description="Strata of the stratified log-rank and Cox: `randomized` (as allocated) or "
                "`verified` (as verified against source after randomization); default: the "
                "protocol's (`randomized`, see the followup protocol file).")]


async def posted_rows(request: Request) -> Records:
    """The posted ADTTE (text/csv only) as a validated column-wise frame."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise Problem(415, "Unsupported Media Type",
                      "send the ADTTE data set as 'Content-Type: text/csv'")
    return await analysis.read_posted_adtte(await request.body())


async def analyse(
    rows: Records, population: Population, cutoff: dt.date | None, release: MemoryRelease,
    strata: StrataChoice | None = None,
) -> PfsAnalysisReport:
    result = await analysis.pfs_analysis(rows, population)
    release.after(len(rows))
    return PfsAnalysisReport(**dict(result), data_cutoff=cutoff, strata=strata)


async def figure(rows: Records, population: Population, fmt: analysis.FigureFormat,
                 release: MemoryRelease) -> Response:
    # matplotlib loads with the first figure, not with the service.
    from rescue_followup.adapters.figures import draw_km_figure

    image = await analysis.km_figure(rows, population, fmt, draw_km_figure)
    release.after(len(rows))
    return Response(image, media_type=MEDIA[fmt])


@router.get("/analysis/pfs", response_model=PfsAnalysisReport,
            summary="Primary PFS analysis by arm: KM, medians, log-rank, Cox HR, at risk")
async def live_analysis(
    principal: Analyst, uow: UoW, release: Release, population: PopulationQuery = "itt",
    cutoff: Cutoff = None, strata: StrataQuery = None,
) -> PfsAnalysisReport:
    """KM by arm (median and 95% CI, 6/12/24-month estimates), log-rank unstratified and
    stratified by the randomization strata (as randomized or as verified), Cox HR SCS_CHEMO vs
    CHEMO (HR < 1 favours SCS_CHEMO) with 95% CI and Wald p, numbers at risk every 3 months."""
    chosen = analysis.strata_in_force(uow, strata)
    with paused_gc():
        rows = await analysis.adtte_export(uow, cutoff, chosen)
        report = await analyse(rows, population, cutoff, release, chosen)
    return report


@router.post("/analysis/pfs", response_model=PfsAnalysisReport, openapi_extra=CSV_BODY,
             summary="The same analysis of a posted ADTTE data set (nothing is stored)")
async def posted_analysis(
    request: Request, principal: Analyst, release: Release, population: PopulationQuery = "itt"
) -> PfsAnalysisReport:
    return await analyse(await posted_rows(request), population, None, release)


@router.get("/analysis/pfs/km.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}},
            summary="Kaplan-Meier curves by arm (PNG)")
async def live_km_png(
    principal: Analyst, uow: UoW, release: Release, population: PopulationQuery = "itt",
    cutoff: Cutoff = None,
) -> Response:
    with paused_gc():
        return await figure(await analysis.adtte_export(uow, cutoff), population, "png",
                            release)


@router.get("/analysis/pfs/km.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}},
            summary="Kaplan-Meier curves by arm (SVG)")
async def live_km_svg(
    principal: Analyst, uow: UoW, release: Release, population: PopulationQuery = "itt",
    cutoff: Cutoff = None,
) -> Response:
    with paused_gc():
        return await figure(await analysis.adtte_export(uow, cutoff), population, "svg",
                            release)


@router.post("/analysis/pfs/km.png", response_class=Response, openapi_extra=CSV_BODY,
             responses={200: {"content": {"image/png": {}}}},
             summary="Kaplan-Meier curves of a posted ADTTE data set (PNG)")
async def posted_km_png(
    request: Request, principal: Analyst, release: Release, population: PopulationQuery = "itt"
) -> Response:
    return await figure(await posted_rows(request), population, "png", release)


@router.post("/analysis/pfs/km.svg", response_class=Response, openapi_extra=CSV_BODY,
             responses={200: {"content": {"image/svg+xml": {}}}},
             summary="Kaplan-Meier curves of a posted ADTTE data set (SVG)")
async def posted_km_svg(
    request: Request, principal: Analyst, release: Release, population: PopulationQuery = "itt"
) -> Response:
    return await figure(await posted_rows(request), population, "svg", release)


@router.get("/exports/adtte.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}},
            summary="ADTTE: one PFS row per randomized subject (INVALFL flags invalidations)")
async def export_adtte(
    principal: Analyst, uow: UoW, release: Release, cutoff: Cutoff = None,
    strata: StrataQuery = None,
) -> Response:
    """Statisticians and monitors; every download is appended to the audit trail."""
    with paused_gc():
        rows = await analysis.download_adtte(uow, principal, cutoff,
                                             analysis.strata_in_force(uow, strata))
        text = write_adtte_csv(rows)
    release.after(len(rows))
    name = f"adtte-pfs{'-' + cutoff.isoformat() if cutoff else ''}.csv"
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
