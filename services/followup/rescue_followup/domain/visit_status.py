"""Status of a subject's planned visits on a given day (pure).

The domain decides done / due / overdue / upcoming from the RECIST assessment dates (a CA-125
value alone is not a tumour assessment). On top of it: once follow-up has ended - a PFS event
(progression or death), a withdrawal, or lost to follow-up - a visit that was not done and whose
window had not closed by then is `not_required`; a visit whose window closed before the end
without an assessment stays `overdue` (a missed visit the site should explain or enter).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from rescue_followup.domain.pfs import PfsResult
from rescue_followup.domain.records import StoredRecord, end_of_follow_up
from rescue_followup.domain.schedule import ScheduledVisit, VisitStatus, visit_statuses

VisitLabel = Literal["upcoming", "due", "done", "overdue", "not_required"]
_LABELS: dict[VisitStatus, VisitLabel] = {
    VisitStatus.UPCOMING: "upcoming", VisitStatus.DUE: "due", VisitStatus.DONE: "done",
    VisitStatus.OVERDUE: "overdue"}


class PlannedVisit(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def month(self) -> int: ...
    @property
    def target_date(self) -> dt.date: ...
    @property
    def window_start(self) -> dt.date: ...
    @property
    def window_end(self) -> dt.date: ...


@dataclass(frozen=True)
class VisitOnDay:
    """A planned visit with its status on a given day and the assessment credited to it."""

    number: int
    month: int
    target_date: dt.date
    window_start: dt.date
    window_end: dt.date
    status: VisitLabel
    assessment_date: dt.date | None


def follow_up_end(records: Sequence[StoredRecord], pfs: PfsResult) -> dt.date | None:
    """When follow-up ended: the PFS event, or a withdrawal / loss to follow-up."""
    ends = [pfs.end_date] if pfs.event else []
    end_record = end_of_follow_up(records)
    if end_record is not None:
        ends.append(end_record.assessment_date)
    return min(ends) if ends else None


def visit_views(
    visits: Sequence[PlannedVisit], records: Sequence[StoredRecord], ended: dt.date | None,
    today: dt.date,
) -> tuple[list[VisitOnDay], list[dt.date]]:
    """Each visit with its status, and the RECIST assessment dates credited to no visit."""
    schedule = [ScheduledVisit(number=v.number, month=v.month, target_date=v.target_date,
                               window_start=v.window_start, window_end=v.window_end)
                for v in visits]
    status = visit_statuses(schedule, [r.assessment_date for r in records if r.type == "recist"],
                            today)
    views = []
    for state in status.visits:
        label = _LABELS[state.status]
        if (state.status is not VisitStatus.DONE and ended is not None
                and state.visit.window_end > ended):
            label = "not_required"
        views.append(VisitOnDay(
            number=state.visit.number, month=state.visit.month,
            target_date=state.visit.target_date, window_start=state.visit.window_start,
            window_end=state.visit.window_end, status=label,
            assessment_date=state.assessment_date))
    return views, list(status.unscheduled_assessments)
