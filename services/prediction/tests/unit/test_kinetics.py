"""Local log-linear K fit: exact fixture, noisy data, rising, too few points, censoring, prior."""

import math
from datetime import date

import numpy as np
import pytest

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.kinetics import (
    METHOD_LABEL,
    KineticPoint,
    fit_k,
    points_from_observations,
)
from rescue_prediction.domain.protocol import KineticsSettings
from rescue_prediction.domain.units import NormalisedCa125

FIXTURE = [(0, 1000.0), (21, 349.938), (42, 122.456), (63, 42.852)]


def pts(pairs, censoring=None) -> list[KineticPoint]:
    return [KineticPoint(day=d, value_u_ml=v, censoring=censoring) for d, v in pairs]


@pytest.fixture
def settings() -> KineticsSettings:
    return load_protocol().kinetics_settings()


def sig4(x: float) -> float:
    return float(f"{x:.4g}")


def test_fixture_default_window_drops_day_63(settings: KineticsSettings) -> None:
    r = fit_k(pts(FIXTURE), settings)
    assert r.status == "estimated" and r.method == METHOD_LABEL
    assert sig4(r.k_per_day) == 0.05 and sig4(r.half_life_days) == 13.86
    assert r.half_life_days == pytest.approx(13.863, abs=5e-4)
    assert [p.day for p in r.points_used] == [0, 21, 42]
    assert [(e.day, e.reason) for e in r.points_excluded] == [(63, "outside_window")]
    assert r.standardized == pytest.approx(0.05 / 0.037, rel=1e-5) and r.favorable
    assert r.protocol_version == "prediction-v1" and r.window_days == 50
    assert any("k_ref_per_day" in a for a in r.assumptions)
    assert r.r_squared == pytest.approx(1.0, abs=1e-9)
    assert r.c0_fitted_u_ml == pytest.approx(1000, rel=1e-5)


def test_fixture_window_including_all_points(settings: KineticsSettings) -> None:
    r = fit_k(pts(FIXTURE), settings.override(window_days=70))
    assert r.n_used == 4 and r.n_excluded == 0
    assert sig4(r.k_per_day) == 0.05
    assert r.half_life_days == pytest.approx(13.863, abs=5e-4)
    assert "window_days overridden to 70 (not the protocol value)" in r.assumptions


def test_day_on_window_edge_is_included(settings: KineticsSettings) -> None:
    r = fit_k(pts([(0, 1000), (25, 300), (50, 80)]), settings)
    assert r.n_used == 3


def test_noisy_series_matches_numpy_polyfit(settings: KineticsSettings) -> None:
    days = [0, 7, 14, 21, 28, 35, 42, 49]
    values = [820.0, 640.0, 590.0, 380.0, 350.0, 240.0, 190.0, 160.0]
    r = fit_k(pts(zip(days, values, strict=True)), settings)
    slope, intercept = np.polyfit(days, np.log(values), 1)
    assert r.k_per_day == pytest.approx(-slope, rel=1e-12)
    assert r.c0_fitted_u_ml == pytest.approx(math.exp(intercept), rel=1e-12)
    resid = np.log(values) - (intercept + slope * np.array(days))
    assert [p.residual_log for p in r.points_used] == pytest.approx(list(resid), abs=1e-12)
    ss_res = float(resid @ resid)
    ss_tot = float(((np.log(values) - np.log(values).mean()) ** 2).sum())
    assert r.r_squared == pytest.approx(1 - ss_res / ss_tot, rel=1e-12)
    assert r.residual_sd_log == pytest.approx(math.sqrt(ss_res / 6), rel=1e-12)
    assert r.half_life_days == pytest.approx(math.log(2) / -slope, rel=1e-12)


def test_rising_series_gives_negative_k_unfavorable(settings: KineticsSettings) -> None:
    r = fit_k(pts([(0, 100), (21, 200), (42, 400)]), settings)
    assert r.status == "estimated"
    assert r.k_per_day == pytest.approx(-math.log(2) / 21, rel=1e-12)
    assert r.half_life_days is None
    assert r.doubling_time_days == pytest.approx(21, rel=1e-12)
    assert r.standardized < 0 and r.favorable is False
    assert any("rose" in n for n in r.notes)


def test_too_few_points_is_a_result_not_an_error(settings: KineticsSettings) -> None:
    r = fit_k(pts([(0, 1000), (21, 350), (63, 43)]), settings)
    assert r.status == "insufficient_data" and r.k_per_day is None and r.favorable is None
    assert r.missing.startswith("needs >= 3 CA-125 values from day -14 to day 50")
    assert "2 usable" in r.missing and "1 outside_window" in r.missing
    assert fit_k([], settings).status == "insufficient_data"


def test_all_points_on_one_day_is_insufficient(settings: KineticsSettings) -> None:
    r = fit_k(pts([(21, 300), (21, 310), (21, 305)]), settings)
    assert r.status == "insufficient_data" and "same day" in r.missing


def test_below_detection_limit_excluded_and_reported(settings: KineticsSettings) -> None:
    lod = KineticPoint(day=49, value_u_ml=5, censoring="below_detection_limit")
    series = [*pts(FIXTURE[:3]), lod]
    r = fit_k(series, settings)
    assert [(e.day, e.reason) for e in r.points_excluded] == [(49, "below_detection_limit")]
    assert sig4(r.k_per_day) == 0.05
    assert any("detection limit" in n for n in r.notes)


def test_values_below_uln_are_used(settings: KineticsSettings) -> None:
    """Values under the ULN (35 U/mL) are real measurements: they stay in the fit."""
    r = fit_k(pts([(0, 120), (21, 42), (42, 14.7)]), settings)
    assert r.n_used == 3 and r.n_excluded == 0


def test_non_positive_and_above_range_excluded(settings: KineticsSettings) -> None:
    series = [
        *pts(FIXTURE[:3]),
        KineticPoint(day=30, value_u_ml=0),
        KineticPoint(day=35, value_u_ml=5000, censoring="above_measurement_range"),
    ]
    reasons = {e.day: e.reason for e in fit_k(series, settings).points_excluded}
    assert reasons == {30: "non_positive_value", 35: "above_measurement_range"}


def test_latest_pre_treatment_value_is_the_baseline(settings: KineticsSettings) -> None:
    series = pts([(-20, 900), (-10, 950), (-3, 1000), (21, 349.938), (42, 122.456)])
    r = fit_k(series, settings)
    assert [p.day for p in r.points_used] == [-3, 21, 42]
    assert [(e.day, e.reason) for e in r.points_excluded] == [
        (-20, "before_baseline_window"),
        (-10, "superseded_baseline"),
    ]


def test_points_from_observations_counts_days_from_chemo_start() -> None:
    start = date(2026, 1, 1)
    obs = [
        NormalisedCa125(
            effective_date=date(2026, 1, 22),
            value_u_ml=349.938,
            original_value=349.938,
            original_unit="kU/L",
        ),
        NormalisedCa125(
            effective_date=date(2025, 12, 30),
            value_u_ml=1000,
            original_value=1000,
            original_unit="U/mL",
        ),
    ]
    assert [(p.day, p.value_u_ml) for p in points_from_observations(obs, start)] == [
        (21, 349.938),
        (-2, 1000),
    ]


def test_prior_shrinks_toward_population_value(settings: KineticsSettings) -> None:
    on = settings.override(use_prior=True)
    short = pts([(0, 1000), (7, 400), (14, 150)])  # K_ols ~ 0.135/day, far above 0.037
    r = fit_k(short, on)
    assert r.prior_applied and 0.037 < r.k_per_day < r.k_unregularised_per_day
    # the MAP solves the profiled posterior's stationarity condition
    sxx = 98.0
    a, b = sxx / (2 * on.residual_sd_log**2), 1 / (2 * on.prior_sd_log_k**2)
    k, u = r.k_per_day, math.log(r.k_per_day)
    grad = 2 * a * (k - r.k_unregularised_per_day) * k + 2 * b * (u - math.log(0.037))
    assert abs(grad) < 1e-6
    off = fit_k(short, settings)
    assert off.k_per_day == off.k_unregularised_per_day == r.k_unregularised_per_day


def test_prior_keeps_rising_series_unfavorable(settings: KineticsSettings) -> None:
    r = fit_k(pts([(0, 100), (21, 200), (42, 400)]), settings.override(use_prior=True))
    assert r.k_unregularised_per_day < 0 < r.k_per_day
    assert r.favorable is False
