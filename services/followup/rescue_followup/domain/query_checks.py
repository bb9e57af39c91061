"""Automatic checks of follow-up's records that open data queries (docs/data-queries.md).

Run on the records in force (corrections applied): a correction that removes the discrepancy
lets the check find nothing, and the query it opened can be closed with that correction.
"""

from __future__ import annotations

from collections.abc import Sequence

from rescue_followup.domain.model import Record, Subject
from rescue_followup.domain.records import current_records
from rescue_shared.queries.lifecycle import Finding

RECIST_BEFORE_RANDOMIZATION = "recist_before_randomization"
ASSESSMENT_AFTER_DEATH = "assessment_after_death"


def recist_before_randomization(subject: Subject, records: Sequence[Record]) -> list[Finding]:
    """A follow-up RECIST assessment dated before the randomization (PFS starts then)."""
    return [
        Finding(RECIST_BEFORE_RANDOMIZATION, subject.subject_id, "date",
                f"RECIST assessment dated {r.assessment_date} is before the randomization on "
                f"{subject.randomization_date}", record_id=r.id)
        for r in current_records(records)
        if r.type == "recist" and r.assessment_date < subject.randomization_date
    ]


def assessment_after_death(subject: Subject, records: Sequence[Record]) -> list[Finding]:
    """Any record dated after the subject's recorded death."""
    current = current_records(records)
    deaths = [r.assessment_date for r in current if r.type == "death"]
    if not deaths:
        return []
    death = min(deaths)
    return [
        Finding(ASSESSMENT_AFTER_DEATH, subject.subject_id, "date",
                f"{r.type} record dated {r.assessment_date} is after the death recorded on "
                f"{death}", record_id=r.id)
        for r in current if r.type != "death" and r.assessment_date > death
    ]


def followup_findings(subject: Subject, records: Sequence[Record]) -> list[Finding]:
    return recist_before_randomization(subject, records) + assessment_after_death(
        subject, records)
