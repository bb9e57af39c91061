"""The vectorised batch fit gives the single fit's numbers."""

import numpy as np
import pytest

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.kinetics import KineticPoint, KineticsResult, fit_k
from rescue_prediction.domain.kinetics_batch import (
    KineticsSummary,
    fit_many,
    summaries_of,
    summarise_columns,
    summarise_many,
)
from rescue_prediction.domain.protocol import KineticsSettings

REL = 1e-12


def P(day: float, value: float, censoring=None) -> KineticPoint:
    return KineticPoint(day=day, value_u_ml=value, censoring=censoring)


CASES: list[list[KineticPoint]] = [
    [P(0, 1000), P(21, 349.938), P(42, 122.456), P(63, 42.852)],
    [P(49, 160), P(0, 820), P(14, 590), P(7, 640), P(28, 350), P(21, 380)],  # unsorted
    [P(0, 100), P(21, 200), P(42, 400)],  # rising
    [P(0, 1000), P(21, 350)],  # too few
    [],  # empty
    [P(21, 300), P(21, 310), P(21, 290)],  # one day
    [
        P(-30, 500),
        P(-9, 900),
        P(-2, 1000),
        P(14, 400),
        P(28, 5, "below_detection_limit"),
        P(35, 0),
        P(40, 9000, "above_measurement_range"),
        P(45, 90),
    ],
    [P(0, 120), P(10, 90), P(10, 95), P(30, 40), P(50, 20)],  # duplicate day
]


def assert_same(a: KineticsResult, b: KineticsResult) -> None:
    for field in (
        "status",
        "n_used",
        "n_excluded",
        "points_excluded",
        "missing",
        "notes",
        "favorable",
        "prior_applied",
        "protocol_version",
        "assumptions",
    ):
        assert getattr(a, field) == getattr(b, field), field
    for field in (
        "k_per_day",
        "k_unregularised_per_day",
        "half_life_days",
        "doubling_time_days",
        "c0_fitted_u_ml",
        "standardized",
        "r_squared",
        "residual_sd_log",
    ):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None), field
        if x is not None:
            assert x == pytest.approx(y, rel=REL, abs=1e-15), field
    assert [(p.day, p.value_u_ml) for p in a.points_used] == [
        (p.day, p.value_u_ml) for p in b.points_used
    ]
    ra = [p.residual_log for p in a.points_used]
    rb = [p.residual_log for p in b.points_used]
    assert (None in ra) == (None in rb)
    if None not in ra:
        assert ra == pytest.approx(rb, rel=1e-9, abs=1e-12)


@pytest.fixture(params=[False, True], ids=["no_prior", "prior"])
def settings(request: pytest.FixtureRequest) -> KineticsSettings:
    return load_protocol().kinetics_settings().override(use_prior=request.param)


def test_batch_equals_single_on_hand_cases(settings: KineticsSettings) -> None:
    batch = fit_many(CASES, settings)
    assert len(batch) == len(CASES)
    for series, result in zip(CASES, batch, strict=True):
        assert_same(result, fit_k(series, settings))


def test_batch_equals_single_on_random_cohort(settings: KineticsSettings) -> None:
    rng = np.random.default_rng(20251215)
    cohort = []
    for _ in range(300):
        n = int(rng.integers(0, 9))
        days = np.sort(rng.choice(np.arange(-20, 80), size=n, replace=False))
        k = rng.lognormal(np.log(0.037), 0.58) * rng.choice([1, -0.3], p=[0.9, 0.1])
        values = 500 * np.exp(-k * days + rng.normal(0, 0.2, size=n))
        cohort.append([P(float(d), float(v)) for d, v in zip(days, values, strict=True)])
    for series, result in zip(cohort, fit_many(cohort, settings), strict=True):
        assert_same(result, fit_k(series, settings))


def test_empty_batch(settings: KineticsSettings) -> None:
    assert fit_many([], settings) == []


def summary_of(result: KineticsResult) -> KineticsSummary:
    return KineticsSummary(
        status=result.status, k_per_day=result.k_per_day, half_life_days=result.half_life_days,
        standardized=result.standardized, favorable=result.favorable, n_used=result.n_used,
        n_excluded=result.n_excluded, r_squared=result.r_squared,
        residual_sd_log=result.residual_sd_log, missing=result.missing)


def test_summaries_are_the_figures_of_the_full_results(settings: KineticsSettings) -> None:
    rng = np.random.default_rng(7)
    cohort = list(CASES)
    for _ in range(300):
        n = int(rng.integers(0, 9))
        days = np.sort(rng.choice(np.arange(-20, 80), size=n, replace=False))
        values = 500 * np.exp(-0.04 * days + rng.normal(0, 0.2, size=n))
        cohort.append([P(float(d), float(v)) for d, v in zip(days, values, strict=True)])
    summaries = summarise_many(cohort, settings)
    assert any(s.status == "insufficient_data" for s in summaries)
    for summary, series in zip(summaries, cohort, strict=True):
        expected = summary_of(fit_k(series, settings))
        assert summary.status == expected.status and summary.missing == expected.missing
        assert (summary.n_used, summary.n_excluded, summary.favorable) == (
            expected.n_used, expected.n_excluded, expected.favorable)
        for name in ("k_per_day", "half_life_days", "standardized", "r_squared",
                     "residual_sd_log"):
            got, want = getattr(summary, name), getattr(expected, name)
            assert (got is None) == (want is None), name
            if want is not None:
                assert got == pytest.approx(want, rel=1e-9, abs=1e-12), name
    assert summarise_many([], settings) == []


CENSORING_CODE = {None: 0, "below_detection_limit": 1, "above_measurement_range": 2}


def test_long_form_columns_give_the_same_summaries(settings: KineticsSettings) -> None:
    """Points given as long-form columns, series interleaved (round robin, each series' own
    order kept), give exactly summarise_many's figures."""
    rng = np.random.default_rng(11)
    cohort = list(CASES) + [
        [P(float(d), float(500 * np.exp(-0.03 * d + rng.normal(0, 0.2))))
         for d in np.sort(rng.choice(np.arange(-20, 80), size=int(rng.integers(0, 9)),
                                     replace=False))]
        for _ in range(200)]
    rows = sorted(((rank, i, p) for i, series in enumerate(cohort)
                   for rank, p in enumerate(series)), key=lambda r: (r[0], r[1]))
    columns = summarise_columns(
        np.array([i for _, i, _ in rows], dtype=np.int64),
        np.array([p.day for *_, p in rows], dtype=float),
        np.array([p.value_u_ml for *_, p in rows], dtype=float),
        np.array([CENSORING_CODE[p.censoring] for *_, p in rows], dtype=np.int8),
        len(cohort), settings)
    assert summaries_of(columns) == summarise_many(cohort, settings)
