"""Tumour-assessment visit schedule and the status of each visit.

Conventions (protocol configuration, not constants):
- Visits are anchored to the randomization date, never to the previous visit, so a late visit does
  not shift the rest of the schedule. Month offsets are calendar months; a day that does not exist
  in the target month is clamped to that month's last day (31 Jan + 1 month = 28/29 Feb).
- Default: every 3 months up to month 24, then every 6 months up to month 60 (14 visits), each with
  a window of -14/+14 days around the target date (both bounds inclusive).
- Status on a given "today": `done` if an assessment dated on or before today falls within the
  window; otherwise `overdue` after the window closed, `due` while the window is open, and
  `upcoming` before it opens. An assessment outside every window is credited to no visit (it is
  returned as unscheduled); windows may not overlap, so an assessment matches at most one visit.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class SchedulePhase(BaseModel):
    """A stretch of follow-up with a fixed visit interval, ending at `until_months` (inclusive)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_months: int = Field(gt=0)
    until_months: int = Field(gt=0)
    window_before_days: int = Field(default=14, ge=0)
    window_after_days: int = Field(default=14, ge=0)

    @model_validator(mode="after")
    def _windows_do_not_overlap(self) -> SchedulePhase:
        # 28 days is the shortest calendar month: adjacent windows must stay disjoint.
        if self.window_before_days + self.window_after_days >= 28 * self.interval_months:
            raise ValueError("visit windows of consecutive visits would overlap")
        return self


class VisitScheduleConfig(BaseModel):
    """Protocol configuration of the follow-up schedule (one per protocol version)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phases: tuple[SchedulePhase, ...] = (
        SchedulePhase(interval_months=3, until_months=24),
        SchedulePhase(interval_months=6, until_months=60),
    )

    @model_validator(mode="after")
    def _phases_increase(self) -> VisitScheduleConfig:
        if not self.phases:
            raise ValueError("a schedule needs at least one phase")
        start = 0
        for phase in self.phases:
            if phase.until_months < start + phase.interval_months:
                raise ValueError(
                    f"phase ending at month {phase.until_months} holds no visit after month {start}"
                )
            start = phase.until_months
        return self


DEFAULT_SCHEDULE = VisitScheduleConfig()


class ScheduledVisit(BaseModel):
    """One planned assessment: target date and its inclusive window."""

    model_config = ConfigDict(frozen=True)

    number: int
    month: int
    target_date: dt.date
    window_start: dt.date
    window_end: dt.date


class VisitStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    DONE = "done"
    OVERDUE = "overdue"


class VisitState(BaseModel):
    """A scheduled visit with its status on a given day and the assessment credited to it."""

    model_config = ConfigDict(frozen=True)

    visit: ScheduledVisit
    status: VisitStatus
    assessment_date: dt.date | None = None


class ScheduleStatus(BaseModel):
    """Status of every visit plus the assessments that matched no window."""

    model_config = ConfigDict(frozen=True)

    today: dt.date
    visits: tuple[VisitState, ...]
    unscheduled_assessments: tuple[dt.date, ...] = ()


def add_months(start: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic with the day clamped to the end of the target month."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def build_schedule(
    randomization_date: dt.date, config: VisitScheduleConfig = DEFAULT_SCHEDULE
) -> tuple[ScheduledVisit, ...]:
    """The planned visits from randomization, in order, as protocol `config` defines them."""
    visits: list[ScheduledVisit] = []
    month = 0
    for phase in config.phases:
        while month + phase.interval_months <= phase.until_months:
            month += phase.interval_months
            target = add_months(randomization_date, month)
            visits.append(
                ScheduledVisit(
                    number=len(visits) + 1,
                    month=month,
                    target_date=target,
                    window_start=target - dt.timedelta(days=phase.window_before_days),
                    window_end=target + dt.timedelta(days=phase.window_after_days),
                )
            )
        month = phase.until_months
    return tuple(visits)


def visit_statuses(
    schedule: Iterable[ScheduledVisit], assessment_dates: Iterable[dt.date], today: dt.date
) -> ScheduleStatus:
    """Status of each visit on `today`; assessments dated after `today` are not yet known."""
    known = sorted({d for d in assessment_dates if d <= today})
    used: set[dt.date] = set()
    states: list[VisitState] = []
    for visit in schedule:
        in_window = [d for d in known if visit.window_start <= d <= visit.window_end]
        if in_window:
            # Closest to target; the earlier one on a tie.
            chosen = min(in_window, key=lambda d: (abs((d - visit.target_date).days), d))
            used.update(in_window)
            states.append(VisitState(visit=visit, status=VisitStatus.DONE, assessment_date=chosen))
        elif today > visit.window_end:
            states.append(VisitState(visit=visit, status=VisitStatus.OVERDUE))
        elif today >= visit.window_start:
            states.append(VisitState(visit=visit, status=VisitStatus.DUE))
        else:
            states.append(VisitState(visit=visit, status=VisitStatus.UPCOMING))
    return ScheduleStatus(
        today=today,
        visits=tuple(states),
        unscheduled_assessments=tuple(d for d in known if d not in used),
    )
