"""Vectorised K fit for research cohorts: many series at once with numpy.

Series are padded into (series x points) arrays with a mask; point selection and the
closed-form least-squares sums are computed for all series together. Only the assembly of the
result objects loops, so the numbers are those of :func:`kinetics.fit_k` (tested equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rescue_prediction.domain.kinetics import (
    EXCLUSION_ORDER,
    FAVORABLE_STANDARDIZED_MIN,
    ExcludedPoint,
    KineticPoint,
    KineticsResult,
    LineFit,
    build_result,
    map_k,
    missing_message,
)
from rescue_prediction.domain.protocol import KineticsSettings

_USED, _PAD = 0, -1
# (day, value, censoring code, present) padded arrays, one row per series.
Padded = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
_CODE = {reason: i + 1 for i, reason in enumerate(EXCLUSION_ORDER)}
_CENSORING_CODE = {None: 0, "below_detection_limit": 1, "above_measurement_range": 2}


def _pad(series_list: Sequence[Sequence[KineticPoint]]) -> Padded:
    """(day, value, censoring code, present) arrays sorted by day within each row (stable)."""
    n = len(series_list)
    m = max(1, max(len(s) for s in series_list))
    day = np.full((n, m), np.inf)
    val = np.full((n, m), np.nan)
    cens = np.zeros((n, m), dtype=np.int8)
    present = np.zeros((n, m), dtype=bool)
    for i, series in enumerate(series_list):
        k = len(series)
        day[i, :k] = [p.day for p in series]
        val[i, :k] = [p.value_u_ml for p in series]
        cens[i, :k] = [_CENSORING_CODE[p.censoring] for p in series]
        present[i, :k] = True
    return _sorted_by_day(day, val, cens, present)


def _sorted_by_day(day: np.ndarray, val: np.ndarray, cens: np.ndarray, present: np.ndarray
                   ) -> Padded:
    order = np.argsort(day, axis=1, kind="stable")
    return (np.take_along_axis(day, order, axis=1), np.take_along_axis(val, order, axis=1),
            np.take_along_axis(cens, order, axis=1), np.take_along_axis(present, order, axis=1))


def _pad_long(series_index: np.ndarray, day: np.ndarray, val: np.ndarray, cens: np.ndarray,
              n_series: int) -> Padded:
    """`_pad` for long-form columns (one entry per point, `series_index` its row), without a
    Python loop: each point goes to column "its rank within its series" (input order kept)."""
    order = np.argsort(series_index, kind="stable")
    rows = series_index[order]
    counts = np.bincount(rows, minlength=n_series)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    cols = np.arange(len(rows)) - starts[rows]
    m = max(1, int(counts.max()) if len(counts) else 1)
    padded_day = np.full((n_series, m), np.inf)
    padded_val = np.full((n_series, m), np.nan)
    padded_cens = np.zeros((n_series, m), dtype=np.int8)
    present = np.zeros((n_series, m), dtype=bool)
    padded_day[rows, cols] = day[order]
    padded_val[rows, cols] = val[order]
    padded_cens[rows, cols] = cens[order]
    present[rows, cols] = True
    if np.all(padded_day[:, 1:] >= padded_day[:, :-1]):  # given in day order: nothing to sort
        return padded_day, padded_val, padded_cens, present
    return _sorted_by_day(padded_day, padded_val, padded_cens, present)


def _codes(
    day: np.ndarray, val: np.ndarray, cens: np.ndarray, present: np.ndarray, s: KineticsSettings
) -> np.ndarray:
    """Exclusion code per point (0 = used), same priority as ``kinetics.select_points``."""
    with np.errstate(invalid="ignore"):
        code = np.select(
            [
                ~present,
                cens == 1,
                cens == 2,
                val <= 0,
                day < -s.baseline_lookback_days,
                day > s.window_days,
            ],
            [
                _PAD,
                _CODE["below_detection_limit"],
                _CODE["above_measurement_range"],
                _CODE["non_positive_value"],
                _CODE["before_baseline_window"],
                _CODE["outside_window"],
            ],
            default=_USED,
        )
    pre = (code == _USED) & (day <= 0)
    latest = np.where(pre, day, -np.inf).max(axis=1)
    code[pre & (day < latest[:, None])] = _CODE["superseded_baseline"]
    return code


@dataclass(frozen=True)
class _BatchFit:
    """Per-series arrays of a batch fit (row i = series i)."""

    day: np.ndarray
    val: np.ndarray
    code: np.ndarray
    used: np.ndarray
    count: np.ndarray
    ok: np.ndarray
    k_ols: np.ndarray
    k: np.ndarray
    intercept: np.ndarray
    syy: np.ndarray
    resid: np.ndarray
    sse: np.ndarray


def _fit_arrays(series_list: Sequence[Sequence[KineticPoint]], s: KineticsSettings) -> _BatchFit:
    return _fit_padded(*_pad(series_list), s)


def _fit_padded(day: np.ndarray, val: np.ndarray, cens: np.ndarray, present: np.ndarray,
                s: KineticsSettings) -> _BatchFit:
    code = _codes(day, val, cens, present, s)
    used = code == _USED
    count = used.sum(axis=1)
    spread = np.where(used, day, -np.inf).max(axis=1) > np.where(used, day, np.inf).min(axis=1)
    ok = (count >= s.min_points) & spread

    n = np.maximum(count, 1)
    x = np.where(used, day, 0.0)
    y = np.where(used, np.log(np.where(used, val, 1.0)), 0.0)
    xm, ym = x.sum(axis=1) / n, y.sum(axis=1) / n
    dx = np.where(used, x - xm[:, None], 0.0)
    dy = np.where(used, y - ym[:, None], 0.0)
    sxx, sxy, syy = (dx * dx).sum(axis=1), (dx * dy).sum(axis=1), (dy * dy).sum(axis=1)
    k_ols = np.where(ok, -sxy / np.where(ok, sxx, 1.0), np.nan)
    k = k_ols.copy()
    if s.use_prior and ok.any():
        k[ok] = map_k(k_ols[ok], sxx[ok], s)
    intercept = ym + k * xm
    resid = np.where(used, y - (intercept[:, None] - k[:, None] * x), 0.0)
    sse = (resid * resid).sum(axis=1)
    return _BatchFit(day, val, code, used, count, ok, k_ols, k, intercept, syy, resid, sse)


def _excluded(days: list[float], vals: list[float], codes: list[int]) -> list[ExcludedPoint]:
    return [ExcludedPoint(day=d, value_u_ml=v, reason=EXCLUSION_ORDER[c - 1])
            for d, v, c in zip(days, vals, codes, strict=True) if c > 0]


def fit_many(
    series_list: Sequence[Sequence[KineticPoint]], settings: KineticsSettings
) -> list[KineticsResult]:
    """Fit K for every series; same results, in the same order, as ``fit_k`` on each."""
    if not series_list:
        return []
    f = _fit_arrays(series_list, settings)
    days, vals, codes = f.day.tolist(), f.val.tolist(), f.code.tolist()
    results = []
    for i in range(len(series_list)):
        fit = None
        if f.ok[i]:
            fit = LineFit(
                k_ols=float(f.k_ols[i]),
                k=float(f.k[i]),
                intercept_log=float(f.intercept[i]),
                syy=float(f.syy[i]),
                sse=float(f.sse[i]),
                residuals=tuple(f.resid[i, f.used[i]].tolist()),
            )
        used = [(d, v) for d, v, c in zip(days[i], vals[i], codes[i], strict=True) if c == _USED]
        results.append(build_result(settings, used, _excluded(days[i], vals[i], codes[i]), fit))
    return results


@dataclass(frozen=True)
class KineticsSummary:
    """The figures of a :class:`KineticsResult` without the per-point detail (cohort output)."""

    status: Literal["estimated", "insufficient_data"]
    k_per_day: float | None
    half_life_days: float | None
    standardized: float | None
    favorable: bool | None
    n_used: int
    n_excluded: int
    r_squared: float | None
    residual_sd_log: float | None
    missing: str | None


@dataclass(frozen=True)
class SummaryColumns:
    """The figures of :class:`KineticsSummary` as one array per field (row i = series i); NaN
    stands for None. `missing` is filled only for the series that could not be fitted."""

    estimated: np.ndarray
    k_per_day: np.ndarray
    half_life_days: np.ndarray
    standardized: np.ndarray
    favorable: np.ndarray
    n_used: np.ndarray
    n_excluded: np.ndarray
    r_squared: np.ndarray
    residual_sd_log: np.ndarray
    missing: list[str | None]


def _summary_columns(f: _BatchFit, s: KineticsSettings) -> SummaryColumns:
    with np.errstate(divide="ignore", invalid="ignore"):
        half_life = np.where(f.ok & (f.k > 0), math.log(2) / f.k, np.nan)
        standardized = np.where(f.ok, f.k / s.k_ref_per_day, np.nan)
        r_squared = np.where(f.ok & (f.syy > 0), 1.0 - f.sse / f.syy, np.nan)
        residual_sd = np.where(f.ok & (f.count > 2), np.sqrt(f.sse / (f.count - 2)), np.nan)
    missing: list[str | None] = [None] * len(f.ok)
    for i in np.flatnonzero(~f.ok).tolist():  # few in a real cohort: explained one by one
        excluded = _excluded(f.day[i].tolist(), f.val[i].tolist(), f.code[i].tolist())
        missing[i] = missing_message(int(f.count[i]), excluded, s)
    return SummaryColumns(
        estimated=f.ok, k_per_day=np.where(f.ok, f.k, np.nan), half_life_days=half_life,
        standardized=standardized, favorable=f.ok & (standardized >= FAVORABLE_STANDARDIZED_MIN),
        n_used=f.count, n_excluded=(f.code > 0).sum(axis=1), r_squared=r_squared,
        residual_sd_log=residual_sd, missing=missing)


@dataclass(frozen=True)
class LongFormCohort:
    """A cohort as long-form columns, one entry per point: `series_index` points into `ids`,
    `day` is days since chemotherapy start, `censoring` 0 none / 1 below detection / 2 above."""

    ids: list[str]
    series_index: np.ndarray
    day: np.ndarray
    value_u_ml: np.ndarray
    censoring: np.ndarray


def summarise_columns(series_index: np.ndarray, day: np.ndarray, value_u_ml: np.ndarray,
                      censoring: np.ndarray, n_series: int, settings: KineticsSettings
                      ) -> SummaryColumns:
    """``summarise_many`` on long-form columns (one entry per point; `series_index` in
    0..n_series-1, `censoring` coded 0 none, 1 below detection, 2 above range), without building
    a Python object per point: the path of cohorts posted as CSV (tested equal)."""
    padded = _pad_long(series_index, day, value_u_ml, censoring, n_series)
    return _summary_columns(_fit_padded(*padded, settings), settings)


def summaries_of(c: SummaryColumns) -> list[KineticsSummary]:
    """One :class:`KineticsSummary` per row of `c`."""
    def none_if_nan(values: list[float]) -> list[float | None]:
        return [None if math.isnan(v) else v for v in values]

    k, half, std = (none_if_nan(a.tolist()) for a in (c.k_per_day, c.half_life_days,
                                                       c.standardized))
    r2, sd = none_if_nan(c.r_squared.tolist()), none_if_nan(c.residual_sd_log.tolist())
    n_used, n_excluded = c.n_used.tolist(), c.n_excluded.tolist()
    favorable = c.favorable.tolist()
    out = []
    for i, estimated in enumerate(c.estimated.tolist()):
        out.append(KineticsSummary(
            status="estimated" if estimated else "insufficient_data", k_per_day=k[i],
            half_life_days=half[i], standardized=std[i],
            favorable=favorable[i] if estimated else None, n_used=int(n_used[i]),
            n_excluded=int(n_excluded[i]), r_squared=r2[i], residual_sd_log=sd[i],
            missing=c.missing[i]))
    return out


def summarise_many(
    series_list: Sequence[Sequence[KineticPoint]], settings: KineticsSettings
) -> list[KineticsSummary]:
    """The summary figures of ``fit_many`` computed as arrays, for cohorts of thousands.

    Building one explained result object per point costs more than the fit itself; a cohort
    needs K, its quality and why a series could not be fitted, which this gives (tested equal).
    """
    if not series_list:
        return []
    return summaries_of(_summary_columns(_fit_arrays(series_list, settings), settings))
