from __future__ import annotations

import datetime as dt

import pytest

from rescue_followup.domain.gcig import (
    Ca125Value,
    GcigCategory,
    first_ca125_progression,
    is_evaluable,
)

DAY0 = dt.date(2026, 1, 1)


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def values(*pairs: tuple[int, float]) -> list[Ca125Value]:
    return [Ca125Value(date=day(d), value_u_ml=v) for d, v in pairs]


NORMAL_BASELINE = Ca125Value(date=DAY0, value_u_ml=20.0)
HIGH_BASELINE = Ca125Value(date=DAY0, value_u_ml=400.0)


def test_category_c_exactly_twice_uln_on_two_occasions_seven_days_apart() -> None:
    pd_ = first_ca125_progression(NORMAL_BASELINE, values((30, 70.0), (37, 70.0)))
    assert pd_ is not None
    assert pd_.category is GcigCategory.C
    assert pd_.date == day(30)  # the first of the two values
    assert pd_.confirmation_date == day(37)
    assert pd_.threshold_u_ml == 70.0


def test_just_below_twice_uln_is_not_progression() -> None:
    assert first_ca125_progression(NORMAL_BASELINE, values((30, 69.9), (37, 80.0))) is None
    assert first_ca125_progression(NORMAL_BASELINE, values((30, 80.0), (37, 69.9))) is None


def test_confirmation_six_days_apart_is_not_enough() -> None:
    assert first_ca125_progression(NORMAL_BASELINE, values((30, 90.0), (36, 90.0))) is None
    # A later value on day 37 confirms the day-30 value (day 36 in between also elevated).
    pd_ = first_ca125_progression(NORMAL_BASELINE, values((30, 90.0), (36, 95.0), (37, 75.0)))
    assert pd_ is not None and (pd_.date, pd_.confirmation_date) == (day(30), day(37))


def test_intermediate_value_below_threshold_refutes_the_candidate() -> None:
    pd_ = first_ca125_progression(
        NORMAL_BASELINE, values((30, 90.0), (33, 60.0), (38, 90.0), (45, 90.0))
    )
    assert pd_ is not None
    assert pd_.date == day(38)  # day 30 was refuted by day 33; day 38 confirmed on day 45


def test_confirming_value_must_itself_meet_threshold() -> None:
    assert first_ca125_progression(NORMAL_BASELINE, values((30, 90.0), (40, 60.0))) is None


def test_category_a_elevated_then_normalised_uses_twice_uln() -> None:
    pd_ = first_ca125_progression(
        HIGH_BASELINE, values((21, 100.0), (42, 30.0), (90, 70.0), (97, 72.0))
    )
    assert pd_ is not None
    assert pd_.category is GcigCategory.A
    assert (pd_.date, pd_.threshold_u_ml, pd_.nadir_u_ml) == (day(90), 70.0, None)


def test_normalised_means_at_or_below_uln() -> None:
    pd_ = first_ca125_progression(HIGH_BASELINE, values((42, 35.0), (90, 70.0), (97, 70.0)))
    assert pd_ is not None and pd_.category is GcigCategory.A
    # 36 is above ULN: never normalised, so category B with threshold 2 x 36 = 72.
    assert (
        first_ca125_progression(HIGH_BASELINE, values((42, 36.0), (90, 70.0), (97, 70.0))) is None
    )


def test_category_b_never_normalised_uses_twice_nadir() -> None:
    history = ((21, 200.0), (42, 150.0))
    pd_ = first_ca125_progression(HIGH_BASELINE, values(*history, (90, 300.0), (97, 300.0)))
    assert pd_ is not None
    assert pd_.category is GcigCategory.B
    assert (pd_.threshold_u_ml, pd_.nadir_u_ml) == (300.0, 150.0)
    assert (
        first_ca125_progression(HIGH_BASELINE, values(*history, (90, 299.0), (97, 300.0))) is None
    )
    # 2 x ULN is not the rule in B.
    assert (
        first_ca125_progression(HIGH_BASELINE, values(*history, (90, 100.0), (97, 100.0))) is None
    )


def test_category_b_nadir_includes_baseline() -> None:
    baseline = Ca125Value(date=DAY0, value_u_ml=100.0)
    pd_ = first_ca125_progression(baseline, values((30, 200.0), (37, 200.0)))
    assert pd_ is not None and pd_.category is GcigCategory.B and pd_.nadir_u_ml == 100.0


def test_per_lab_uln() -> None:
    pd_ = first_ca125_progression(
        Ca125Value(date=DAY0, value_u_ml=10.0), values((30, 60.0), (37, 60.0)), uln_u_ml=30.0
    )
    assert pd_ is not None and pd_.threshold_u_ml == 60.0
    with pytest.raises(ValueError):
        first_ca125_progression(NORMAL_BASELINE, [], uln_u_ml=0.0)


def test_interference_window_is_28_days_inclusive() -> None:
    surgery = day(10)
    assert not is_evaluable(Ca125Value(date=surgery, value_u_ml=1), [surgery])
    assert not is_evaluable(Ca125Value(date=day(38), value_u_ml=1), [surgery])  # day 28 after
    assert is_evaluable(Ca125Value(date=day(39), value_u_ml=1), [surgery])  # day 29 after
    assert is_evaluable(Ca125Value(date=day(9), value_u_ml=1), [surgery])  # before surgery

    excluded_first = values((38, 100.0), (45, 100.0))
    assert (
        first_ca125_progression(NORMAL_BASELINE, excluded_first, interference_dates=[surgery])
        is None
    )
    pd_ = first_ca125_progression(
        NORMAL_BASELINE, values((39, 100.0), (46, 100.0)), interference_dates=[surgery]
    )
    assert pd_ is not None and pd_.date == day(39)


def test_non_evaluable_values_do_not_set_the_nadir_or_confirm() -> None:
    surgery = day(50)
    series = values((21, 200.0), (55, 60.0), (90, 300.0), (97, 300.0))
    # The post-operative 60 is ignored, so the nadir stays 200 and 300 < 400.
    assert first_ca125_progression(HIGH_BASELINE, series, interference_dates=[surgery]) is None
    # Without the interference it would be the nadir (threshold 120) -> progression.
    assert first_ca125_progression(HIGH_BASELINE, series) is not None
    flagged = [*values((30, 90.0)), Ca125Value(date=day(37), value_u_ml=90.0, evaluable=False)]
    assert first_ca125_progression(NORMAL_BASELINE, flagged) is None


def test_order_of_input_does_not_matter_but_values_must_follow_baseline() -> None:
    pd_ = first_ca125_progression(NORMAL_BASELINE, values((37, 70.0), (30, 70.0)))
    assert pd_ is not None and pd_.date == day(30)
    with pytest.raises(ValueError, match="after the baseline"):
        first_ca125_progression(NORMAL_BASELINE, values((0, 70.0)))
