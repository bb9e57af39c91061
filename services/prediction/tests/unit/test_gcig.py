"""GCIG CA-125 response: evaluability and the 50% / 28-day boundaries."""

from datetime import date, timedelta

import pytest

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.gcig import assess_gcig_response
from rescue_prediction.domain.units import NormalisedCa125

START = date(2026, 3, 1)


def v(day: int, value: float) -> NormalisedCa125:
    return NormalisedCa125(
        effective_date=START + timedelta(days=day),
        value_u_ml=value,
        original_value=value,
        original_unit="U/mL",
    )


def test_exactly_50_percent_and_exactly_28_days_is_a_response() -> None:
    r = assess_gcig_response([v(-3, 200), v(21, 100), v(49, 100)], START)
    assert r.status == "response" and r.responded and r.evaluable
    assert r.baseline_u_ml == 200 and r.response_line_u_ml == 100
    assert r.response_date == START + timedelta(days=21)
    assert r.confirmation_date == START + timedelta(days=49)


def test_27_days_is_only_pending() -> None:
    r = assess_gcig_response([v(-3, 200), v(21, 100), v(48, 90)], START)
    assert r.status == "pending_confirmation" and not r.responded
    assert "2026-04-19" in r.reasons[0]  # day 21 + 28


def test_just_above_50_percent_is_no_response() -> None:
    r = assess_gcig_response([v(-3, 200), v(21, 100.01), v(49, 100.01)], START)
    assert r.status == "no_response" and r.evaluable


def test_value_above_line_in_between_breaks_the_run() -> None:
    r = assess_gcig_response([v(0, 200), v(21, 90), v(35, 110), v(49, 80)], START)
    assert r.status == "pending_confirmation"
    assert r.response_date == START + timedelta(days=49)
    r = assess_gcig_response([v(0, 200), v(21, 90), v(35, 110), v(49, 80), v(77, 70)], START)
    assert r.status == "response" and r.response_date == START + timedelta(days=49)


def test_complete_response_when_confirming_value_normal() -> None:
    r = assess_gcig_response([v(-1, 400), v(21, 150), v(49, 35)], START)
    assert r.status == "complete_response" and r.responded
    r = assess_gcig_response([v(-1, 400), v(21, 150), v(49, 36)], START)
    assert r.status == "response"


def test_baseline_must_be_at_least_twice_uln() -> None:
    ok = assess_gcig_response([v(-1, 70), v(21, 30), v(49, 30)], START)
    assert ok.status == "complete_response"
    r = assess_gcig_response([v(-1, 69.9), v(21, 30), v(49, 30)], START)
    assert r.status == "not_evaluable" and "2 x ULN" in r.reasons[0]


def test_uln_is_configurable_per_lab() -> None:
    r = assess_gcig_response([v(-1, 79), v(21, 30), v(49, 30)], START, uln_u_ml=40)
    assert r.status == "not_evaluable" and r.uln_u_ml == 40


@pytest.mark.parametrize(("day", "evaluable"), [(-14, True), (-15, False), (0, True)])
def test_baseline_within_two_weeks_before_start(day: int, evaluable: bool) -> None:
    r = assess_gcig_response([v(day, 300), v(21, 100), v(49, 100)], START)
    assert r.evaluable is evaluable
    if not evaluable:
        assert "within 14 days" in r.reasons[0]


def test_latest_pre_treatment_value_is_the_baseline() -> None:
    r = assess_gcig_response([v(-10, 1000), v(-2, 300), v(21, 150), v(49, 140)], START)
    assert r.baseline_u_ml == 300 and r.status == "response"


def test_protocol_supplies_the_parameters() -> None:
    kwargs = load_protocol().gcig_kwargs()
    assert kwargs == {
        "uln_u_ml": 35,
        "baseline_window_days": 14,
        "confirmation_days": 28,
        "fall_fraction": 0.5,
    }
    r = assess_gcig_response(
        [v(-1, 200), v(21, 100), v(49, 100)], START, **load_protocol().gcig_kwargs(uln_u_ml=30)
    )
    assert r.status == "response" and r.uln_u_ml == 30
