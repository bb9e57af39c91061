"""Stateless KELIM calculators: one series for a clinician, many at once for a research cohort.

Nothing is stored. Values before the baseline window or after the fit window are not refused
here: the fit excludes them and reports why, which is what a cohort analysis needs
(docs/protocol/kelim.md § What the platform computes).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from rescue_prediction.domain.gcig import GcigResult, assess_gcig_response
from rescue_prediction.domain.kinetics import (
    METHOD_LABEL,
    KineticPoint,
    KineticsResult,
    fit_k,
    points_from_observations,
)
from rescue_prediction.domain.kinetics_batch import (
    KineticsSummary,
    LongFormCohort,
    SummaryColumns,
    summarise_columns,
    summarise_many,
)
from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_prediction.domain.units import (
    Ca125Observation,
    NormalisedCa125,
    normalise_observation,
)
from rescue_shared.errors import TooLarge, invalid_fields

MAX_BATCH_SERIES = 10_000


@dataclass(frozen=True)
class Series:
    """One CA-125 series around a chemotherapy start; `id` is the caller's (batch only)."""

    chemotherapy_start_date: date
    measurements: Sequence[Ca125Observation]
    id: str = ""


def _normalise(measurements: Sequence[Ca125Observation], field: str) -> list[NormalisedCa125]:
    """Normalised values; two different values on one day are Invalid, naming the second."""
    seen: dict[date, float] = {}
    out = []
    errors: list[dict[str, Any]] = []
    for i, m in enumerate(measurements):
        v = normalise_observation(m)
        if m.effective_date in seen:
            if seen[m.effective_date] != v.value_u_ml:
                errors.append({"field": f"{field}.{i}.value", "rule": "conflict",
                               "message": f"two different values on {m.effective_date}"})
            continue
        seen[m.effective_date] = v.value_u_ml
        out.append(v)
    if errors:
        raise invalid_fields(errors)
    return out


@dataclass(frozen=True)
class KelimFigures:
    kinetics: KineticsResult
    gcig: GcigResult
    protocol_version: str
    model_version: str
    assumptions: list[str]


def calculate_kelim(protocol: PredictionProtocol, series: Series,
                    uln_u_ml: float | None = None) -> KelimFigures:
    """The same calculation as a subject's prediction (protocol in force), nothing stored."""
    values = _normalise(series.measurements, "measurements")
    start = series.chemotherapy_start_date
    kinetics = fit_k(points_from_observations(values, start), protocol.kinetics_settings())
    gcig = assess_gcig_response(values, start, **protocol.gcig_kwargs(uln_u_ml))
    return KelimFigures(kinetics=kinetics, gcig=gcig, protocol_version=protocol.protocol_version,
                        model_version=protocol.model_version,
                        assumptions=list(kinetics.assumptions))


@dataclass(frozen=True)
class BatchFigures:
    protocol_version: str
    method: str
    k_ref_per_day: float
    window_days: float
    assumptions: list[str]
    results: list[tuple[str, KineticsSummary]]  # (the caller's id, its figures), in order


def ensure_batch_size(count: int) -> None:
    """TooLarge beyond `MAX_BATCH_SERIES` series (checked before anything is read further)."""
    if count > MAX_BATCH_SERIES:
        raise TooLarge(f"{count} series sent; at most {MAX_BATCH_SERIES} per request",
                       title="Too many series")


def calculate_kelim_batch(protocol: PredictionProtocol,
                          series: Sequence[Series]) -> BatchFigures:
    """K for many series at once (vectorised); TooLarge beyond `MAX_BATCH_SERIES`. A cohort
    takes seconds: callers on an event loop run it in a worker thread."""
    ensure_batch_size(len(series))
    settings = protocol.kinetics_settings()
    points: list[list[KineticPoint]] = [
        points_from_observations(_normalise(s.measurements, f"series.{i}.measurements"),
                                 s.chemotherapy_start_date)
        for i, s in enumerate(series)]
    summaries = summarise_many(points, settings)
    return BatchFigures(
        protocol_version=protocol.protocol_version, method=METHOD_LABEL,
        k_ref_per_day=settings.k_ref_per_day, window_days=settings.window_days,
        assumptions=list(settings.assumptions),
        results=[(s.id, r) for s, r in zip(series, summaries, strict=True)])


def calculate_kelim_long(protocol: PredictionProtocol, cohort: LongFormCohort,
                         block_series: int = MAX_BATCH_SERIES
                         ) -> Iterator[tuple[list[str], SummaryColumns]]:
    """K for a long-form cohort of any size, `block_series` series at a time (in `ids` order),
    so a large cohort's answer can be streamed while the next block is computed."""
    settings = protocol.kinetics_settings()
    order = np.argsort(cohort.series_index, kind="stable")  # each series' own order kept
    index = cohort.series_index[order]
    for lo in range(0, max(len(cohort.ids), 1), block_series):
        hi = min(lo + block_series, len(cohort.ids))
        a, b = np.searchsorted(index, [lo, hi])
        rows = order[a:b]
        yield cohort.ids[lo:hi], summarise_columns(
            index[a:b] - lo, cohort.day[rows], cohort.value_u_ml[rows], cohort.censoring[rows],
            hi - lo, settings)
