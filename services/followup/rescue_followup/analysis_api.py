"""The primary PFS analysis: live (from follow-up's records) or of a posted ADTTE data set.

The live path builds ADTTE rows from the records; the posted path reads the CSV column-wise into
the same ADaM columns (no per-row objects: 100,000 rows in well under a second), in the same
USUBJID order, and both call the same domain functions, so an exported data set posted back
gives the very same JSON and figure. Every figure agrees with R's survival package (conventions
in domain/analysis.py and docs/statistics.md, and in each answer's `conventions`). Parsing and
statistics run in a worker thread after the database session is released (the event loop and
the SQLite write lock stay free). Figures are drawn one at a time (matplotlib keeps process-wide
state).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from rescue_followup.domain.adtte import AdtteRow, AdtteValidationError, write_adtte_csv
from rescue_followup.domain.analysis import PfsAnalysis, Population, Records, analyse_pfs
from rescue_followup.domain.figures import render_km_figure
from rescue_followup.posted_adtte import read_posted_adtte_frame
from rescue_followup.records import adtte_rows
from rescue_followup.store import release, subjects_with_records
from rescue_shared.auth import Principal, require_roles
from rescue_shared.http.problems import Problem
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["analysis"])
Analyst = Annotated[Principal, Depends(require_roles("statistician", "monitor"))]
PopulationQuery = Annotated[Population, Query(
    description="itt: every randomized subject; excluding_invalidated: without allocations "
                "marked made in error.")]
Cutoff = Annotated[dt.date | None, Query(
    description="Data cut-off (YYYY-MM-DD): subjects randomized, records dated and records "
                "entered (UTC) after it are ignored.")]
CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "description": "ADTTE: USUBJID, ARM (SCS_CHEMO | CHEMO), STRATA "
    "(optional), STARTDT, ADT, AVAL, CNSR; optional PARAMCD, EVNTDESC, CNSDTDSC, INVALFL"}}}}}
MAX_CSV_BYTES = 20_000_000
_FIGURE_LOCK = threading.Lock()
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}
POPULATION_TITLES = {"itt": "intention to treat",
                     "excluding_invalidated": "excluding invalidated allocations"}


class PfsAnalysisReport(PfsAnalysis):
    """The analysis read-out and the data cut-off it used (None: everything recorded)."""

    data_cutoff: dt.date | None = None


async def live_rows(uow: UoW, cutoff: dt.date | None) -> list[AdtteRow]:
    subjects, records = await subjects_with_records(uow.session)
    await release(uow.session)
    return await asyncio.to_thread(adtte_rows, subjects, records, cutoff)


async def posted_rows(request: Request) -> Records:
    """The posted ADTTE as a validated column-wise frame (no per-row objects)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise Problem(415, "Unsupported Media Type",
                      "send the ADTTE data set as 'Content-Type: text/csv'")
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise Problem(413, "Content Too Large", f"the CSV exceeds {MAX_CSV_BYTES} bytes")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(422, "Invalid ADTTE data", f"the CSV is not UTF-8 text: {exc}",
                      errors=[{"field": "body", "rule": "encoding", "message": str(exc)}]
                      ) from exc
    try:
        return await asyncio.to_thread(read_posted_adtte_frame, text)
    except AdtteValidationError as exc:
        shown = "; ".join(str(i) for i in exc.issues[:10])
        more = f" (and {len(exc.issues) - 10} more)" if len(exc.issues) > 10 else ""
        raise Problem(
            422, "Invalid ADTTE data", f"{len(exc.issues)} problem(s): {shown}{more}",
            errors=[{"field": i.column, "row": i.row, "column": i.column, "rule": "adtte",
                     "message": i.message} for i in exc.issues],
        ) from exc


async def analyse(
    rows: Records, population: Population, cutoff: dt.date | None
) -> PfsAnalysisReport:
    try:
        result = await asyncio.to_thread(analyse_pfs, rows, population=population)
    except ValueError as exc:
        raise Problem(422, "Analysis not possible", str(exc)) from exc
    return PfsAnalysisReport(**dict(result), data_cutoff=cutoff)


def _draw(rows: Records, population: Population, fmt: Literal["png", "svg"]) -> bytes:
    title = f"Progression-free survival by arm ({POPULATION_TITLES[population]})"
    with _FIGURE_LOCK:
        return render_km_figure(rows, population=population, fmt=fmt, title=title)


async def figure(
    rows: Records, population: Population, fmt: Literal["png", "svg"]
) -> Response:
    try:
        image = await asyncio.to_thread(_draw, rows, population, fmt)
    except ValueError as exc:
        raise Problem(422, "Analysis not possible", str(exc)) from exc
    return Response(image, media_type=MEDIA[fmt])


@router.get("/analysis/pfs", response_model=PfsAnalysisReport,
            summary="Primary PFS analysis by arm: KM, medians, log-rank, Cox HR, at risk")
async def live_analysis(
    principal: Analyst, uow: UoW, population: PopulationQuery = "itt", cutoff: Cutoff = None
) -> PfsAnalysisReport:
    """KM by arm (median and 95% CI, 6/12/24-month estimates), log-rank unstratified and
    stratified by the randomization strata, Cox HR SCS_CHEMO vs CHEMO (HR < 1 favours
    SCS_CHEMO) with 95% CI and Wald p, numbers at risk every 3 months."""
    return await analyse(await live_rows(uow, cutoff), population, cutoff)


@router.post("/analysis/pfs", response_model=PfsAnalysisReport, openapi_extra=CSV_BODY,
             summary="The same analysis of a posted ADTTE data set (nothing is stored)")
async def posted_analysis(
    request: Request, principal: Analyst, population: PopulationQuery = "itt"
) -> PfsAnalysisReport:
    return await analyse(await posted_rows(request), population, None)


@router.get("/analysis/pfs/km.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}},
            summary="Kaplan-Meier curves by arm (PNG)")
async def live_km_png(
    principal: Analyst, uow: UoW, population: PopulationQuery = "itt", cutoff: Cutoff = None
) -> Response:
    return await figure(await live_rows(uow, cutoff), population, "png")


@router.get("/analysis/pfs/km.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}},
            summary="Kaplan-Meier curves by arm (SVG)")
async def live_km_svg(
    principal: Analyst, uow: UoW, population: PopulationQuery = "itt", cutoff: Cutoff = None
) -> Response:
    return await figure(await live_rows(uow, cutoff), population, "svg")


@router.post("/analysis/pfs/km.png", response_class=Response, openapi_extra=CSV_BODY,
             responses={200: {"content": {"image/png": {}}}},
             summary="Kaplan-Meier curves of a posted ADTTE data set (PNG)")
async def posted_km_png(
    request: Request, principal: Analyst, population: PopulationQuery = "itt"
) -> Response:
    return await figure(await posted_rows(request), population, "png")


@router.post("/analysis/pfs/km.svg", response_class=Response, openapi_extra=CSV_BODY,
             responses={200: {"content": {"image/svg+xml": {}}}},
             summary="Kaplan-Meier curves of a posted ADTTE data set (SVG)")
async def posted_km_svg(
    request: Request, principal: Analyst, population: PopulationQuery = "itt"
) -> Response:
    return await figure(await posted_rows(request), population, "svg")


@router.get("/exports/adtte.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}},
            summary="ADTTE: one PFS row per randomized subject (INVALFL flags invalidations)")
async def export_adtte(principal: Analyst, uow: UoW, cutoff: Cutoff = None) -> Response:
    rows = await live_rows(uow, cutoff)
    name = f"adtte-pfs{'-' + cutoff.isoformat() if cutoff else ''}.csv"
    return Response(write_adtte_csv(rows), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
