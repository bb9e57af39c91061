from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from rescue_followup.domain.schedule import (
    SchedulePhase,
    VisitScheduleConfig,
    VisitStatus,
    add_months,
    build_schedule,
    visit_statuses,
)

RAND = dt.date(2026, 1, 15)


def test_default_schedule_is_3_monthly_to_2_years_then_6_monthly_to_5_years() -> None:
    visits = build_schedule(RAND)
    assert [v.month for v in visits] == [3, 6, 9, 12, 15, 18, 21, 24, 30, 36, 42, 48, 54, 60]
    assert [v.number for v in visits] == list(range(1, 15))
    first = visits[0]
    assert first.target_date == dt.date(2026, 4, 15)
    assert first.window_start == dt.date(2026, 4, 1)
    assert first.window_end == dt.date(2026, 4, 29)
    assert visits[-1].target_date == dt.date(2031, 1, 15)


def test_targets_anchor_on_randomization_and_clamp_month_end() -> None:
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2023, 11, 30), 3) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 12, 15), 1) == dt.date(2026, 1, 15)
    visits = build_schedule(dt.date(2025, 11, 30))
    # Anchored on randomization: the May visit is the 30th, not drifted from February's 28th.
    assert visits[1].target_date == dt.date(2026, 5, 30)


def test_custom_protocol_configuration() -> None:
    config = VisitScheduleConfig(
        phases=(
            SchedulePhase(
                interval_months=2, until_months=6, window_before_days=7, window_after_days=3
            ),
        )
    )
    visits = build_schedule(RAND, config)
    assert [v.month for v in visits] == [2, 4, 6]
    assert visits[0].window_start == dt.date(2026, 3, 8)
    assert visits[0].window_end == dt.date(2026, 3, 18)


@pytest.mark.parametrize(
    "phases",
    [
        (),
        (
            SchedulePhase(interval_months=3, until_months=24),
            SchedulePhase(interval_months=6, until_months=24),
        ),
    ],
)
def test_invalid_configuration_is_rejected(phases: tuple[SchedulePhase, ...]) -> None:
    with pytest.raises(ValidationError):
        VisitScheduleConfig(phases=phases)


def test_overlapping_windows_are_rejected() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        SchedulePhase(
            interval_months=1, until_months=12, window_before_days=14, window_after_days=14
        )


def _status(today: dt.date, assessments: list[dt.date]) -> tuple[VisitStatus, dt.date | None]:
    state = visit_statuses(build_schedule(RAND)[:1], assessments, today).visits[0]
    return state.status, state.assessment_date


def test_status_boundaries_of_the_window() -> None:
    start, target, end = dt.date(2026, 4, 1), dt.date(2026, 4, 15), dt.date(2026, 4, 29)
    one = dt.timedelta(days=1)
    assert _status(start - one, []) == (VisitStatus.UPCOMING, None)
    assert _status(start, []) == (VisitStatus.DUE, None)
    assert _status(end, []) == (VisitStatus.DUE, None)
    assert _status(end + one, []) == (VisitStatus.OVERDUE, None)
    assert _status(end + one, [start]) == (VisitStatus.DONE, start)
    assert _status(end + one, [end]) == (VisitStatus.DONE, end)
    assert _status(end + one, [target, end]) == (VisitStatus.DONE, target)


def test_assessment_outside_window_is_unscheduled_and_future_ones_unknown() -> None:
    schedule = build_schedule(RAND)
    early = dt.date(2026, 3, 31)  # one day before the first window opens
    status = visit_statuses(schedule, [early, dt.date(2026, 7, 20)], today=dt.date(2026, 5, 1))
    assert status.visits[0].status is VisitStatus.OVERDUE
    assert status.visits[1].status is VisitStatus.UPCOMING  # the July scan is not yet known
    assert status.unscheduled_assessments == (early,)


def test_mixed_statuses_over_follow_up() -> None:
    schedule = build_schedule(RAND)
    status = visit_statuses(
        schedule, [dt.date(2026, 4, 10), dt.date(2026, 10, 20)], today=dt.date(2026, 10, 21)
    )
    got = [s.status for s in status.visits[:4]]
    assert got == [VisitStatus.DONE, VisitStatus.OVERDUE, VisitStatus.DONE, VisitStatus.UPCOMING]
    assert status.model_dump(mode="json")["visits"][0]["status"] == "done"
