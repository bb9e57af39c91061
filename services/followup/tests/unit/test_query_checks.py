"""Follow-up's automatic data-query checks fire on their case and not on a clean subject."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rescue_followup.domain.model import Record, Subject
from rescue_followup.domain.query_checks import followup_findings

RANDOMIZED = dt.date(2027, 1, 10)
T = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def subject() -> Subject:
    return Subject(subject_id="S01-0001", site_id="S01", randomization_number="R-1",
                   arm="CHEMO", stratum={"pfi": ">12"}, randomization_date=RANDOMIZED,
                   scheme="permuted_blocks", protocol_version="1", assigned_event_id="e",
                   registered_at=T)


def record(id_: str, type_: str, day: dt.date, n: int = 0, supersedes: str | None = None,
           **data: Any) -> Record:
    return Record(id=id_, subject_id="S01-0001", site_id="S01", type=type_,
                  assessment_date=day, data=data, recorded_by="nurse",
                  created_at=T + dt.timedelta(minutes=n), supersedes_id=supersedes,
                  correction_reason="wrong date typed in" if supersedes else None)


def test_a_clean_subject_raises_nothing() -> None:
    records = [record("a", "recist", RANDOMIZED), record("b", "recist", dt.date(2027, 4, 10)),
               record("c", "death", dt.date(2027, 6, 1))]
    assert followup_findings(subject(), records) == []


def test_a_recist_before_randomization_is_found_and_its_correction_clears_it() -> None:
    early = record("a", "recist", dt.date(2027, 1, 3))
    (finding,) = followup_findings(subject(), [early])
    assert (finding.check, finding.record_id, finding.field) == (
        "recist_before_randomization", "a", "date")
    assert "2027-01-03" in finding.message and "2027-01-10" in finding.message
    fixed = record("b", "recist", dt.date(2027, 4, 3), n=1, supersedes="a")
    assert followup_findings(subject(), [early, fixed]) == []


def test_an_assessment_after_death_is_found() -> None:
    records = [record("a", "recist", RANDOMIZED), record("d", "death", dt.date(2027, 5, 1)),
               record("late", "ca125", dt.date(2027, 5, 20))]
    (finding,) = followup_findings(subject(), records)
    assert (finding.check, finding.record_id) == ("assessment_after_death", "late")
