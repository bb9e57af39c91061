"""Local estimate of the CA-125 elimination rate K (docs/protocol/kelim.md § What the platform
computes).

Method: ordinary least squares of ln CA-125 on days since chemotherapy start, within the
protocol's window: ln C(t) = ln C0 - K·t. Closed form, so every number can be re-derived by hand.
Optionally (protocol ``prior.enabled``) K is the MAP estimate under a log-normal population prior
on K (Wilbaux/CALYPSO), which shrinks noisy short series toward the typical value; it can never
return K <= 0, so the unregularised K is always reported alongside.

Conventions (all reported in the result, never silent):
- Points used: the latest value from ``-baseline_lookback_days`` to day 0 (the baseline, at its own
  day) and every value up to ``window_days`` inclusive. Earlier pre-treatment values are excluded
  as ``superseded_baseline``.
- Censored values ("<5" below the detection limit, ">" above the measurement range) and values
  <= 0 are excluded, not imputed: a closed-form fit cannot use them honestly. Excluding the low
  tail can underestimate K; the result says so.
- This is a "local log-linear estimate", never the official KELIM (see ``kelim.select_kelim``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rescue_prediction.domain.protocol import KineticsSettings
from rescue_prediction.domain.units import Censoring, NormalisedCa125

METHOD_LABEL = "local log-linear estimate"
FAVORABLE_STANDARDIZED_MIN = 1.0  # by construction of the standardisation K / K_ref

ExclusionReason = Literal[
    "below_detection_limit",
    "above_measurement_range",
    "non_positive_value",
    "before_baseline_window",
    "outside_window",
    "superseded_baseline",
]
#: Priority order: a point gets the first reason that applies (the batch fit relies on it).
EXCLUSION_ORDER: tuple[ExclusionReason, ...] = (
    "below_detection_limit",
    "above_measurement_range",
    "non_positive_value",
    "before_baseline_window",
    "outside_window",
    "superseded_baseline",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)


class KineticPoint(_Frozen):
    """One CA-125 value (U/mL) at a day relative to chemotherapy start (day 0)."""

    day: float
    value_u_ml: float = Field(ge=0)
    censoring: Censoring | None = None


class UsedPoint(_Frozen):
    """A point in the fit with its residual on the ln scale (None when no line was fitted)."""

    day: float
    value_u_ml: float
    residual_log: float | None = None


class ExcludedPoint(_Frozen):
    """A point left out of the fit, with why."""

    day: float
    value_u_ml: float
    reason: ExclusionReason


class KineticsResult(_Frozen):
    """Outcome of the local K fit: the estimate, its quality, and what it rests on."""

    status: Literal["estimated", "insufficient_data"]
    method: str = METHOD_LABEL
    k_per_day: float | None = None
    k_unregularised_per_day: float | None = None
    prior_applied: bool = False
    half_life_days: float | None = None
    doubling_time_days: float | None = None
    c0_fitted_u_ml: float | None = None
    standardized: float | None = None
    favorable: bool | None = None
    n_used: int
    n_excluded: int
    r_squared: float | None = None
    residual_sd_log: float | None = None
    points_used: tuple[UsedPoint, ...]
    points_excluded: tuple[ExcludedPoint, ...]
    missing: str | None = None
    notes: tuple[str, ...] = ()
    protocol_version: str
    k_ref_per_day: float
    window_days: float
    assumptions: tuple[str, ...] = ()


def points_from_observations(
    values: Sequence[NormalisedCa125], chemo_start: date
) -> list[KineticPoint]:
    """Normalised observations → points at whole days since chemotherapy start."""
    return [
        KineticPoint(
            day=(v.effective_date - chemo_start).days,
            value_u_ml=v.value_u_ml,
            censoring=v.censoring,
        )
        for v in values
    ]


def _first_reason(p: KineticPoint, s: KineticsSettings) -> ExclusionReason | None:
    if p.censoring is not None:
        return p.censoring
    if p.value_u_ml <= 0:
        return "non_positive_value"
    if p.day < -s.baseline_lookback_days:
        return "before_baseline_window"
    if p.day > s.window_days:
        return "outside_window"
    return None


def select_points(
    points: Sequence[KineticPoint], s: KineticsSettings
) -> tuple[list[KineticPoint], list[ExcludedPoint]]:
    """Split points (sorted by day, stable) into those fitted and those excluded with a reason."""
    ordered = sorted(points, key=lambda p: p.day)
    reasons = [_first_reason(p, s) for p in ordered]
    pre_days = [p.day for p, r in zip(ordered, reasons, strict=True) if r is None and p.day <= 0]
    if pre_days:
        latest = max(pre_days)
        reasons = [
            "superseded_baseline" if r is None and p.day < latest else r
            for p, r in zip(ordered, reasons, strict=True)
        ]
    used = [p for p, r in zip(ordered, reasons, strict=True) if r is None]
    excluded = [
        ExcludedPoint(day=p.day, value_u_ml=p.value_u_ml, reason=r)
        for p, r in zip(ordered, reasons, strict=True)
        if r is not None
    ]
    return used, excluded


@dataclass(frozen=True)
class LineFit:
    """Sums of a fitted line ln C = intercept - k·day (k = reported K; k_ols = unregularised)."""

    k_ols: float
    k: float
    intercept_log: float
    syy: float
    sse: float
    residuals: tuple[float, ...]


_GRID = np.linspace(math.log(1e-8), math.log(2.0), 2001)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
_CHUNK = 2048


def map_k(k_ols: np.ndarray, sxx: np.ndarray, s: KineticsSettings) -> np.ndarray:
    """MAP K for each series under a log-normal prior, given the least-squares K and Sxx.

    Profiling out the intercept, the negative log posterior in u = ln K is
    Sxx·(e^u - K_ols)² / (2·sd_res²) + (u - ln K_pop)² / (2·sd_lnK²); it is minimised on a grid over
    K in [1e-8, 2] /day, refined by golden-section search around the best grid point, then
    polished by Newton steps on the derivative.
    Vectorised over series so the single and the batch fit share it.
    """
    k_ols = np.atleast_1d(np.asarray(k_ols, dtype=float))
    sxx = np.atleast_1d(np.asarray(sxx, dtype=float))
    out = np.empty_like(k_ols)
    a_all = sxx / (2.0 * s.residual_sd_log**2)
    b = 1.0 / (2.0 * s.prior_sd_log_k**2)
    mu = math.log(s.prior_typical_k_per_day)
    for start in range(0, k_ols.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        a, k0 = a_all[sl], k_ols[sl]

        def f(u: np.ndarray, a: np.ndarray = a, k0: np.ndarray = k0) -> np.ndarray:
            objective: np.ndarray = a * (np.exp(u) - k0) ** 2 + b * (u - mu) ** 2
            return objective

        best = np.argmin(f(_GRID[None, :], a[:, None], k0[:, None]), axis=1)
        lo0 = lo = _GRID[np.maximum(best - 1, 0)]
        hi0 = hi = _GRID[np.minimum(best + 1, _GRID.size - 1)]
        for _ in range(40):
            c = hi - _GOLDEN * (hi - lo)
            d = lo + _GOLDEN * (hi - lo)
            left = f(c) < f(d)
            hi = np.where(left, d, hi)
            lo = np.where(left, lo, c)
        u = (lo + hi) / 2.0
        # Newton on f'(u) = 0 (f is flat at its minimum, so comparing f values alone stops
        # at ~sqrt(machine epsilon); the derivative's root is found to full precision).
        for _ in range(4):
            e = np.exp(u)
            grad = 2.0 * a * (e - k0) * e + 2.0 * b * (u - mu)
            curv = 2.0 * a * e * (2.0 * e - k0) + 2.0 * b
            step = np.where(curv > 0, grad / np.where(curv > 0, curv, 1.0), 0.0)
            u = np.clip(u - step, lo0, hi0)
        out[sl] = np.exp(u)
    return out


def _line_fit(used: Sequence[KineticPoint], s: KineticsSettings) -> LineFit:
    """Closed-form least squares with exactly rounded sums (math.fsum) on centred data."""
    xs = [p.day for p in used]
    ys = [math.log(p.value_u_ml) for p in used]
    n = len(xs)
    xm, ym = math.fsum(xs) / n, math.fsum(ys) / n
    dx = [x - xm for x in xs]
    dy = [y - ym for y in ys]
    sxx = math.fsum(d * d for d in dx)
    sxy = math.fsum(a * b for a, b in zip(dx, dy, strict=True))
    syy = math.fsum(d * d for d in dy)
    k_ols = -sxy / sxx
    k = float(map_k(np.array([k_ols]), np.array([sxx]), s)[0]) if s.use_prior else k_ols
    intercept = ym + k * xm
    residuals = tuple(y - (intercept - k * x) for x, y in zip(xs, ys, strict=True))
    return LineFit(k_ols, k, intercept, syy, math.fsum(r * r for r in residuals), residuals)


def missing_message(n_used: int, excluded: Sequence[ExcludedPoint], s: KineticsSettings) -> str:
    need = (
        f"needs >= {s.min_points} CA-125 values from day {-s.baseline_lookback_days:g} to day "
        f"{s.window_days:g} of chemotherapy, on at least 2 different days"
    )
    if n_used >= s.min_points:
        got = f"the {n_used} usable values are all on the same day"
    else:
        got = f"{n_used} usable"
    counts = Counter(e.reason for e in excluded)
    if counts:
        got += "; excluded: " + ", ".join(f"{c} {r}" for r, c in sorted(counts.items()))
    return f"{need}; {got}"


def build_result(
    s: KineticsSettings,
    used: Sequence[tuple[float, float]],
    excluded: Sequence[ExcludedPoint],
    fit: LineFit | None,
) -> KineticsResult:
    """Assemble the reported result from the used (day, U/mL) pairs, the exclusions and the fit
    (None when there is too little data); shared by the single and the batch fit."""
    common = {
        "n_used": len(used),
        "n_excluded": len(excluded),
        "points_excluded": tuple(excluded),
        "protocol_version": s.protocol_version,
        "k_ref_per_day": s.k_ref_per_day,
        "window_days": s.window_days,
        "assumptions": s.assumptions,
    }
    notes = [f"{METHOD_LABEL}: not the official KELIM"]
    n_lod = sum(e.reason == "below_detection_limit" for e in excluded)
    if n_lod:
        notes.append(
            f"{n_lod} value(s) below the detection limit excluded, not imputed: "
            "K may be underestimated"
        )
    if fit is None:
        return KineticsResult(
            status="insufficient_data",
            points_used=tuple(UsedPoint(day=d, value_u_ml=v) for d, v in used),
            missing=missing_message(len(used), excluded, s),
            notes=tuple(notes),
            **common,
        )
    k = fit.k
    if fit.k_ols < 0:
        notes.append("CA-125 rose over the window (unregularised K < 0): unfavorable")
    if s.use_prior:
        notes.append(
            f"MAP estimate with a log-normal population prior on K (typical "
            f"{s.prior_typical_k_per_day:g}/day, SD of ln K {s.prior_sd_log_k:.3f}); "
            f"unregularised K = {fit.k_ols:.5g}/day"
        )
    n = len(used)
    standardized = k / s.k_ref_per_day
    return KineticsResult(
        status="estimated",
        k_per_day=k,
        k_unregularised_per_day=fit.k_ols,
        prior_applied=s.use_prior,
        half_life_days=math.log(2) / k if k > 0 else None,
        doubling_time_days=math.log(2) / -k if k < 0 else None,
        c0_fitted_u_ml=math.exp(fit.intercept_log),
        standardized=standardized,
        favorable=standardized >= FAVORABLE_STANDARDIZED_MIN,
        r_squared=1.0 - fit.sse / fit.syy if fit.syy > 0 else None,
        residual_sd_log=math.sqrt(fit.sse / (n - 2)) if n > 2 else None,
        points_used=tuple(
            UsedPoint(day=d, value_u_ml=v, residual_log=r)
            for (d, v), r in zip(used, fit.residuals, strict=True)
        ),
        notes=tuple(notes),
        **common,
    )


def fit_k(points: Sequence[KineticPoint], settings: KineticsSettings) -> KineticsResult:
    """Fit K for one series. Too few usable points give ``insufficient_data``, not an error."""
    used, excluded = select_points(points, settings)
    enough = len(used) >= settings.min_points and len({p.day for p in used}) >= 2
    fit = _line_fit(used, settings) if enough else None
    return build_result(settings, [(p.day, p.value_u_ml) for p in used], excluded, fit)
