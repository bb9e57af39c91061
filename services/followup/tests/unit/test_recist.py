from __future__ import annotations

import datetime as dt

import pytest

from rescue_followup.domain.recist import (
    RecistAssessment,
    RecistPdReason,
    first_recist_progression,
    is_target_progression,
)

BASE = dt.date(2026, 1, 1)


def series(*sums: float | None, new: int | None = None, nt: int | None = None):
    """Assessments 90 days apart; `new`/`nt` = index flagged with new lesion / non-target PD."""
    return [
        RecistAssessment(
            date=BASE + dt.timedelta(days=90 * i),
            target_sum_mm=s,
            new_lesions=i == new,
            non_target_pd=i == nt,
        )
        for i, s in enumerate(sums)
    ]


@pytest.mark.parametrize(
    ("current", "nadir", "expected"),
    [
        (30, 25, True),  # exactly +20 % and exactly +5 mm
        (24, 20, False),  # +20 % but only 4 mm
        (55, 50, False),  # +5 mm but only 10 %
        (35.9, 30, False),  # 19.7 %, 5.9 mm
        (36, 30, True),  # 20 %, 6 mm
        (40.44, 33.7, True),  # exactly 20 % in decimals: 40.44 < 1.2 * 33.7 in binary floats
        (5, 0, True),  # nadir 0 (CR): +5 mm suffices
        (4, 0, False),
    ],
)
def test_target_rule_boundaries(current: float, nadir: float, expected: bool) -> None:
    assert is_target_progression(current, nadir) is expected


def test_exact_boundary_is_progression() -> None:
    pd_ = first_recist_progression(series(25, 30))
    assert pd_ is not None
    assert pd_.date == BASE + dt.timedelta(days=90)
    assert pd_.reasons == (RecistPdReason.TARGET_SUM_INCREASE,)
    assert (pd_.target_sum_mm, pd_.nadir_mm) == (30, 25)


def test_twenty_percent_but_four_mm_is_not_progression() -> None:
    assert first_recist_progression(series(20, 24)) is None


def test_nadir_is_smallest_sum_so_far_including_baseline() -> None:
    # 36 vs the previous 35 is +1 mm, but vs the nadir 30 it is +20 % / +6 mm.
    pd_ = first_recist_progression(series(50, 30, 35, 36))
    assert pd_ is not None and pd_.date == BASE + dt.timedelta(days=270)
    assert pd_.nadir_mm == 30
    # Baseline itself is the nadir when nothing shrank.
    assert first_recist_progression(series(40, 45, 48)).nadir_mm == 40


def test_new_lesion_alone_is_progression_even_while_shrinking() -> None:
    pd_ = first_recist_progression(series(50, 30, 20, new=2))
    assert pd_ is not None
    assert pd_.date == BASE + dt.timedelta(days=180)
    assert pd_.reasons == (RecistPdReason.NEW_LESION,)


def test_non_target_progression_alone_and_reasons_combine() -> None:
    only = first_recist_progression(series(50, 50, nt=1))
    assert only is not None and only.reasons == (RecistPdReason.NON_TARGET_PROGRESSION,)
    both = first_recist_progression(
        [
            RecistAssessment(date=BASE, target_sum_mm=25),
            RecistAssessment(
                date=BASE + dt.timedelta(days=60),
                target_sum_mm=30,
                new_lesions=True,
                non_target_pd=True,
            ),
        ]
    )
    assert both is not None and set(both.reasons) == set(RecistPdReason)


def test_baseline_flags_are_not_progression() -> None:
    assert first_recist_progression(series(50, new=0, nt=0)) is None


def test_missing_sum_keeps_nadir_and_no_baseline_sum_disables_target_rule() -> None:
    pd_ = first_recist_progression(series(30, None, 36))
    assert pd_ is not None and pd_.nadir_mm == 30
    assert first_recist_progression(series(None, 30, 80)) is None
    assert first_recist_progression(series(None, None, new=1)) is not None


def test_no_assessments_or_no_progression() -> None:
    assert first_recist_progression([]) is None
    assert first_recist_progression(series(50, 40, 30, 35)) is None


def test_order_must_be_chronological() -> None:
    with pytest.raises(ValueError, match="increasing date order"):
        first_recist_progression(list(reversed(series(50, 40))))
    with pytest.raises(ValueError):
        first_recist_progression([RecistAssessment(date=BASE, target_sum_mm=1)] * 2)
