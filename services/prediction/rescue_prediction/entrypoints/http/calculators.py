"""Stateless KELIM calculators (see `service_layer/calculators.py`): nothing is stored."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from fastapi import APIRouter

from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_prediction.domain.units import Ca125Observation
from rescue_prediction.entrypoints.http.dependencies import ProtocolInForce
from rescue_prediction.entrypoints.http.schemas import (
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


@router.post("/kelim/batch", response_model=KelimBatchResult,
             summary=f"K for many series at once (vectorised; at most {MAX_BATCH_SERIES})",
             responses={413: {"description": f"More than {MAX_BATCH_SERIES} series"}})
async def calculate_batch(body: KelimBatchRequest, principal: AnyTrialRole,
                          protocol: ProtocolInForce) -> KelimBatchResult:
    calculators.ensure_batch_size(len(body.series))
    # A cohort takes seconds: read and computed in a worker thread so the service keeps answering.
    figures = await asyncio.to_thread(_batch, protocol, body)
    return KelimBatchResult(
        protocol_version=figures.protocol_version, method=figures.method,
        k_ref_per_day=figures.k_ref_per_day, window_days=figures.window_days,
        assumptions=figures.assumptions,
        results=[SeriesResult(id=series_id, **asdict(r)) for series_id, r in figures.results])
