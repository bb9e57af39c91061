"""Stateless KELIM calculators: one series for a clinician, many at once for a research cohort.

Nothing is stored. Values before the baseline window or after the fit window are not refused
here: the fit excludes them and reports why, which is what a cohort analysis needs.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date

from fastapi import APIRouter

from rescue_prediction.domain.gcig import assess_gcig_response
from rescue_prediction.domain.kinetics import (
    METHOD_LABEL,
    KineticPoint,
    fit_k,
    points_from_observations,
)
from rescue_prediction.domain.kinetics_batch import summarise_many
from rescue_prediction.domain.units import (
    Ca125Observation,
    NormalisedCa125,
    normalise_observation,
)
from rescue_prediction.predictions import protocol
from rescue_prediction.schemas import (
    MAX_BATCH_SERIES,
    KelimBatchRequest,
    KelimBatchResult,
    KelimCalculation,
    KelimRequest,
    MeasurementIn,
    SeriesResult,
)
from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problems import Problem

router = APIRouter(prefix="/v1", tags=["calculator"])


def _normalise(measurements: list[MeasurementIn], field: str) -> list[NormalisedCa125]:
    """Normalised values; two different values on one day are a 422 naming the second."""
    seen: dict[date, float] = {}
    out = []
    errors = []
    for i, m in enumerate(measurements):
        v = normalise_observation(Ca125Observation(
            effective_date=m.date, value=m.value, unit=m.unit, loinc=m.loinc,
            comparator=m.comparator))
        if m.date in seen:
            if seen[m.date] != v.value_u_ml:
                errors.append({"field": f"{field}.{i}.value", "rule": "conflict",
                               "message": f"two different values on {m.date}"})
            continue
        seen[m.date] = v.value_u_ml
        out.append(v)
    if errors:
        raise Problem(422, "Invalid request", "invalid field(s): "
                      + ", ".join(e["field"] for e in errors), errors=errors)
    return out


@router.post("/kelim", response_model=KelimCalculation,
             summary="KELIM calculator: the local K estimate for one posted series")
async def calculate(body: KelimRequest, principal: AnyTrialRole) -> KelimCalculation:
    """The same calculation as a subject's prediction (protocol in force), nothing stored."""
    proto = protocol()
    values = _normalise(body.measurements, "measurements")
    kinetics = fit_k(points_from_observations(values, body.chemotherapy_start_date),
                     proto.kinetics_settings())
    gcig = assess_gcig_response(values, body.chemotherapy_start_date,
                                **proto.gcig_kwargs(body.uln_u_ml))  # type: ignore[arg-type]
    return KelimCalculation(kinetics=kinetics, gcig=gcig, protocol_version=proto.protocol_version,
                            model_version=proto.model_version,
                            assumptions=list(kinetics.assumptions))


@router.post("/kelim/batch", response_model=KelimBatchResult,
             summary=f"K for many series at once (vectorised; at most {MAX_BATCH_SERIES})",
             responses={413: {"description": f"More than {MAX_BATCH_SERIES} series"}})
async def calculate_batch(body: KelimBatchRequest, principal: AnyTrialRole) -> KelimBatchResult:
    if len(body.series) > MAX_BATCH_SERIES:
        raise Problem(413, "Too many series",
                      f"{len(body.series)} series sent; at most {MAX_BATCH_SERIES} per request")
    # A cohort takes seconds: computed in a worker thread so the service keeps answering.
    return await asyncio.to_thread(_batch, body)


def _batch(body: KelimBatchRequest) -> KelimBatchResult:
    proto = protocol()
    settings = proto.kinetics_settings()
    series: list[list[KineticPoint]] = [
        points_from_observations(_normalise(s.measurements, f"series.{i}.measurements"),
                                 s.chemotherapy_start_date)
        for i, s in enumerate(body.series)]
    results = summarise_many(series, settings)
    return KelimBatchResult(
        protocol_version=proto.protocol_version, method=METHOD_LABEL,
        k_ref_per_day=settings.k_ref_per_day, window_days=settings.window_days,
        assumptions=list(settings.assumptions),
        results=[SeriesResult(id=s.id, **asdict(r))
                 for s, r in zip(body.series, results, strict=True)],
    )
