"""Vectorised K fit for research cohorts: many series at once with numpy.

Series are padded into (series x points) arrays with a mask; point selection and the
closed-form least-squares sums are computed for all series together. Only the assembly of the
result objects loops, so the numbers are those of :func:`kinetics.fit_k` (tested equal).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rescue_prediction.domain.kinetics import (
    EXCLUSION_ORDER,
    ExcludedPoint,
    KineticPoint,
    KineticsResult,
    LineFit,
    build_result,
    map_k,
)
from rescue_prediction.domain.protocol import KineticsSettings

_USED, _PAD = 0, -1
_CODE = {reason: i + 1 for i, reason in enumerate(EXCLUSION_ORDER)}
_CENSORING_CODE = {None: 0, "below_detection_limit": 1, "above_measurement_range": 2}


def _pad(series_list: Sequence[Sequence[KineticPoint]]) -> tuple[np.ndarray, ...]:
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
    order = np.argsort(day, axis=1, kind="stable")
    return tuple(np.take_along_axis(a, order, axis=1) for a in (day, val, cens, present))


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


def fit_many(
    series_list: Sequence[Sequence[KineticPoint]], settings: KineticsSettings
) -> list[KineticsResult]:
    """Fit K for every series; same results, in the same order, as ``fit_k`` on each."""
    if not series_list:
        return []
    s = settings
    day, val, cens, present = _pad(series_list)
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

    days, vals, codes = day.tolist(), val.tolist(), code.tolist()
    results = []
    for i in range(len(series_list)):
        row = list(zip(days[i], vals[i], codes[i], strict=True))
        excluded = [
            ExcludedPoint(day=d, value_u_ml=v, reason=EXCLUSION_ORDER[c - 1])
            for d, v, c in row
            if c > 0
        ]
        fit = None
        if ok[i]:
            fit = LineFit(
                k_ols=float(k_ols[i]),
                k=float(k[i]),
                intercept_log=float(intercept[i]),
                syy=float(syy[i]),
                sse=float(sse[i]),
                residuals=tuple(resid[i, used[i]].tolist()),
            )
        results.append(build_result(s, [(d, v) for d, v, c in row if c == _USED], excluded, fit))
    return results
