"""Stateless KELIM calculators (see `service_layer/calculators.py`): nothing is stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from rescue_prediction.adapters import kelim_answer, kelim_csv
from rescue_prediction.domain.kinetics import METHOD_LABEL
from rescue_prediction.domain.kinetics_batch import LongFormCohort
from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_prediction.domain.units import Ca125Observation
from rescue_prediction.entrypoints.http.dependencies import ProtocolInForce
from rescue_prediction.entrypoints.http.schemas import (
    MAX_POINTS_PER_SERIES,
    KelimBatchRequest,
    KelimBatchResult,
    KelimCalculation,
    KelimRequest,
    MeasurementIn,
    SeriesResult,
)
from rescue_prediction.service_layer import calculators
from rescue_prediction.service_layer.calculators import MAX_BATCH_SERIES
from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problems import Problem

router = APIRouter(prefix="/v1", tags=["calculator"])


def _observations(measurements: list[MeasurementIn]) -> list[Ca125Observation]:
    return [Ca125Observation(effective_date=m.date, value=m.value, unit=m.unit, loinc=m.loinc,
                             comparator=m.comparator) for m in measurements]


@router.post("/kelim", response_model=KelimCalculation,
             summary="KELIM calculator: the local K estimate for one posted series")
async def calculate(body: KelimRequest, principal: AnyTrialRole,
                    protocol: ProtocolInForce) -> KelimCalculation:
    """The same calculation as a subject's prediction (protocol in force), nothing stored."""
    figures = calculators.calculate_kelim(protocol, calculators.Series(
        chemotherapy_start_date=body.chemotherapy_start_date,
        measurements=_observations(body.measurements)), uln_u_ml=body.uln_u_ml)
    return KelimCalculation(kinetics=figures.kinetics, gcig=figures.gcig,
                            protocol_version=figures.protocol_version,
                            model_version=figures.model_version, assumptions=figures.assumptions)


def _batch(protocol: PredictionProtocol, body: KelimBatchRequest) -> calculators.BatchFigures:
    return calculators.calculate_kelim_batch(protocol, [
        calculators.Series(chemotherapy_start_date=s.chemotherapy_start_date,
                           measurements=_observations(s.measurements), id=s.id)
        for s in body.series])


def _json_body(raw: bytes) -> KelimBatchRequest:
    """The JSON batch, validated as FastAPI would (422 naming `series.<i>...` fields)."""
    try:
        return KelimBatchRequest.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" and "recursion limit" in e["msg"]
               for e in exc.errors(include_url=False)):
            # Too deep to read, as json.loads says by RecursionError: the body guard's 400.
            raise RecursionError("the request body is nested too deeply") from None
        raise RequestValidationError([
            {**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _header(figures: calculators.BatchFigures | PredictionProtocol) -> str:
    """The JSON answer up to its `results` list."""
    if isinstance(figures, PredictionProtocol):
        settings = figures.kinetics_settings()
        head: dict[str, Any] = {
            "protocol_version": figures.protocol_version, "method": METHOD_LABEL,
            "k_ref_per_day": settings.k_ref_per_day, "window_days": settings.window_days,
            "assumptions": list(settings.assumptions)}
    else:
        head = {"protocol_version": figures.protocol_version, "method": figures.method,
                "k_ref_per_day": figures.k_ref_per_day, "window_days": figures.window_days,
                "assumptions": figures.assumptions}
    return json.dumps(head)[:-1] + ',"results":['


def _long_form_answer(protocol: PredictionProtocol, cohort: LongFormCohort, as_csv: bool
                      ) -> Iterator[bytes]:
    """The answer in pieces, one block of series at a time (large cohorts are streamed)."""
    first = True
    if not as_csv:
        yield _header(protocol).encode()
    for ids, columns in calculators.calculate_kelim_long(protocol, cohort):
        if as_csv:
            yield kelim_answer.csv_answer(ids, columns, header=first)
        elif ids:
            yield (b"" if first else b",") + kelim_answer.json_results(ids, columns)
        first = False
    if not as_csv:
        yield b"]}"


async def _in_thread(pieces: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each block computed in a worker thread, so the service keeps answering meanwhile."""
    done = object()
    while (piece := await asyncio.to_thread(next, pieces, done)) is not done:
        assert isinstance(piece, bytes)
        yield piece


CSV_REQUEST = {"text/csv": {"schema": {"type": "string"}, "example": (
    "series_id,chemotherapy_start_date,date,value,unit\n"
    "P001,2026-01-05,2026-01-05,1000,U/mL\nP001,2026-01-05,2026-01-26,349.9,U/mL\n"
    "P001,2026-01-05,2026-02-16,122.5,U/mL\n")}}


@router.post(
    "/kelim/batch", response_model=KelimBatchResult,
    summary="K for a cohort at once (vectorised): JSON (at most "
            f"{MAX_BATCH_SERIES} series) or long-form CSV (any number, streamed)",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/KelimBatchRequest"}},
        **CSV_REQUEST}}},
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "JSON, or CSV (one row per series) with Accept: text/csv"},
               413: {"description": f"More than {MAX_BATCH_SERIES} series in a JSON batch"},
               415: {"description": "A body neither application/json nor text/csv"}})
async def calculate_batch(request: Request, principal: AnyTrialRole,
                          protocol: ProtocolInForce) -> Response:
    """JSON: `{"series": [...]}` (as `KelimBatchRequest`). CSV: one row per measurement,
    `series_id,chemotherapy_start_date,date,value,unit` (optional `comparator`, `loinc`), any
    row order; errors name `rows.<line>.<column>`. Answer as JSON, or as CSV with
    `Accept: text/csv`; each series' figures are those of the single-series calculator."""
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    raw = await request.body()
    as_csv = _wants_csv(request)
    if media == "text/csv":
        cohort = await asyncio.to_thread(
            kelim_csv.read_long_cohort, raw, max_points_per_series=MAX_POINTS_PER_SERIES,
            today=date.today())
        pieces = _long_form_answer(protocol, cohort, as_csv)
        if len(cohort.ids) <= MAX_BATCH_SERIES:  # one block: answered whole, with its length
            # computed in a worker thread too: the event loop keeps serving meanwhile
            return Response(await asyncio.to_thread(b"".join, pieces),
                            media_type="text/csv" if as_csv else "application/json")
        return StreamingResponse(_in_thread(pieces), media_type="text/csv" if as_csv else
                                 "application/json")
    if media not in ("application/json", ""):
        raise Problem(415, "Unsupported Media Type", f"{media!r}: send application/json "
                      "or text/csv (long form)")
    body = await asyncio.to_thread(_json_body, raw)
    calculators.ensure_batch_size(len(body.series))
    # A cohort takes seconds: read and computed in a worker thread so the service keeps answering.
    figures = await asyncio.to_thread(_batch, protocol, body)
    if as_csv:
        return Response(kelim_answer.csv_of_rows([[i, *asdict(r).values()]
                                               for i, r in figures.results]),
                        media_type="text/csv")
    return Response(KelimBatchResult(
        protocol_version=figures.protocol_version, method=figures.method,
        k_ref_per_day=figures.k_ref_per_day, window_days=figures.window_days,
        assumptions=figures.assumptions,
        results=[SeriesResult(id=series_id, **asdict(r)) for series_id, r in figures.results],
    ).model_dump_json(), media_type="application/json")
