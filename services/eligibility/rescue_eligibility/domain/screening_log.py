"""The screening log: how many were screened and why they failed (top of the CONSORT diagram).

A subject may be screened more than once; her latest screening counts for the outcome figures,
while `screenings` counts every screening performed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel


@dataclass(frozen=True)
class LoggedScreening:
    subject_id: str
    site_id: str
    screening_date: date
    recorded_order: int  # later screenings of a subject have a larger value
    outcome: str  # eligible | ineligible | incomplete (judgement at screening)
    final_decision: str  # eligible | ineligible | pending (after the prediction)
    failed_criteria: tuple[str, ...]


class OutcomeCounts(BaseModel):
    subjects: int = 0
    eligible: int = 0
    ineligible: int = 0
    incomplete: int = 0
    confirmed_eligible: int = 0
    awaiting_prediction: int = 0
    rejected_after_prediction: int = 0


class ScreeningLog(BaseModel):
    screenings: int
    totals: OutcomeCounts
    ineligible_by_criterion: dict[str, int]
    by_site: dict[str, OutcomeCounts]
    by_month: dict[str, OutcomeCounts]


def _count(latest: Iterable[LoggedScreening]) -> OutcomeCounts:
    counts = OutcomeCounts()
    for s in latest:
        counts.subjects += 1
        setattr(counts, s.outcome, getattr(counts, s.outcome) + 1)
        if s.final_decision == "eligible":
            counts.confirmed_eligible += 1
        elif s.outcome == "eligible" and s.final_decision == "pending":
            counts.awaiting_prediction += 1
        elif s.outcome != "ineligible" and s.final_decision == "ineligible":
            counts.rejected_after_prediction += 1
    return counts


def build_screening_log(screenings: Iterable[LoggedScreening]) -> ScreeningLog:
    """Counts by outcome, by failed criterion, by site and by month of the latest screening."""
    all_screenings = list(screenings)
    latest: dict[str, LoggedScreening] = {}
    for s in sorted(all_screenings, key=lambda s: s.recorded_order):
        latest[s.subject_id] = s
    subjects = list(latest.values())
    by_criterion = Counter(c for s in subjects if s.outcome == "ineligible"
                           for c in s.failed_criteria)
    # A rejection by the prediction shows under the criterion it decided.
    by_criterion.update(c for s in subjects if s.outcome != "ineligible"
                        and s.final_decision == "ineligible" for c in s.failed_criteria)
    sites = sorted({s.site_id for s in subjects})
    months = sorted({s.screening_date.strftime("%Y-%m") for s in subjects})
    return ScreeningLog(
        screenings=len(all_screenings),
        totals=_count(subjects),
        ineligible_by_criterion=dict(sorted(by_criterion.items())),
        by_site={site: _count(s for s in subjects if s.site_id == site) for site in sites},
        by_month={m: _count(s for s in subjects if s.screening_date.strftime("%Y-%m") == m)
                  for m in months},
    )


def screening_log_rows(log: ScreeningLog) -> list[tuple[str, str, str, int]]:
    """Flat (dimension, key, measure, count) rows for a CSV export."""
    rows: list[tuple[str, str, str, int]] = [("all", "all", "screenings", log.screenings)]
    rows += [("all", "all", measure, n) for measure, n in log.totals.model_dump().items()]
    rows += [("criterion", cid, "ineligible", n) for cid, n in log.ineligible_by_criterion.items()]
    for dimension, groups in (("site", log.by_site), ("month", log.by_month)):
        for key, counts in groups.items():
            rows += [(dimension, key, measure, n) for measure, n in counts.model_dump().items()]
    return rows
