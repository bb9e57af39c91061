"""Pure rules over stored records: records known at a cut-off, posted ADTTE, CONSORT, visits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from rescue_followup.adapters.consort_svg import render_consort_svg
from rescue_followup.adapters.protocol_files import PROTOCOL_FILES
from rescue_followup.domain.adtte import AdtteRow, AdtteValidationError
from rescue_followup.domain.consort import build_consort
from rescue_followup.domain.pfs import PfsEventType, PfsResult
from rescue_followup.domain.posted_adtte import read_posted_adtte
from rescue_followup.domain.records import (
    RegisteredSubject,
    StoredRecord,
    current_records,
    strata_label,
)
from rescue_followup.domain.records import adtte_rows as domain_adtte_rows
from rescue_followup.domain.records import derive_subject_pfs as domain_derive_subject_pfs
from rescue_followup.domain.visit_status import follow_up_end, visit_views

RANDOMIZED = dt.date(2024, 1, 10)


def derive_subject_pfs(subject: RegisteredSubject, records: list[StoredRecord],
                       cutoff: dt.date | None = None) -> PfsResult:
    """Under the subject's own protocol file."""
    return domain_derive_subject_pfs(subject, records, PROTOCOL_FILES.load, cutoff)


def adtte_rows(subjects: list[RegisteredSubject], records: dict[str, list[StoredRecord]],
               cutoff: dt.date | None = None) -> list[AdtteRow]:
    return domain_adtte_rows(subjects, records, PROTOCOL_FILES.load, cutoff)


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


@dataclass
class Rec:
    id: str
    type: str
    assessment_date: dt.date
    data: dict[str, Any]
    created_at: dt.datetime
    supersedes_id: str | None = None


@dataclass
class Subj:
    subject_id: str = "S01-0001"
    arm: str = "SCS_CHEMO"
    stratum: dict[str, str] = field(default_factory=lambda: {"site": "S01", "ecog": "0"})
    randomization_date: dt.date = RANDOMIZED
    protocol_version: str = "1"
    invalidated: bool = False
    invalidated_at: dt.datetime | None = None


def recist(rid: str, day: str, total: float | None, created: str, *, new: bool = False,
           supersedes: str | None = None) -> Rec:
    return Rec(rid, "recist", dt.date.fromisoformat(day),
               {"date": day, "target_lesion_sum_mm": total, "new_lesions": new,
                "non_target_progression": False}, at(created), supersedes)


def test_a_correction_counts_only_from_when_it_was_entered() -> None:
    records = [
        recist("a", "2024-01-10", 50.0, "2024-01-11"),
        recist("b", "2024-04-10", 70.0, "2024-04-12"),  # +40 %: progression as entered
        recist("c", "2024-04-10", 52.0, "2024-06-01", supersedes="b"),  # typo corrected later
    ]
    assert [r.id for r in current_records(records)] == ["a", "c"]
    assert [r.id for r in current_records(records, dt.date(2024, 5, 1))] == ["a", "b"]
    assert [r.id for r in current_records(records, dt.date(2024, 1, 10))] == []

    as_entered = derive_subject_pfs(Subj(), records, dt.date(2024, 5, 1))
    assert as_entered.event and as_entered.end_date == dt.date(2024, 4, 10)
    corrected = derive_subject_pfs(Subj(), records)
    assert not corrected.event and corrected.end_date == dt.date(2024, 4, 10)


def test_records_dated_after_the_cutoff_are_ignored_even_if_entered_before() -> None:
    death = Rec("d", "death", dt.date(2024, 3, 1), {"date": "2024-03-01", "cause": "x"},
                at("2024-03-02"))
    records = [recist("a", "2024-01-10", 50.0, "2024-01-11"),
               recist("b", "2024-02-20", 50.0, "2024-02-21"), death]
    assert derive_subject_pfs(Subj(), records, dt.date(2024, 3, 5)).event_type is (
        PfsEventType.DEATH)
    before = derive_subject_pfs(Subj(), records, dt.date(2024, 2, 25))
    assert not before.event and before.end_date == dt.date(2024, 2, 20)


def test_ca125_baseline_is_the_first_value_and_surgery_blocks_values_after_it() -> None:
    def ca(rid: str, day: str, value: float) -> Rec:
        return Rec(rid, "ca125", dt.date.fromisoformat(day),
                   {"date": day, "value": value, "unit": "U/mL"}, at(day))

    surgery = Rec("s", "surgery", dt.date(2024, 2, 1),
                  {"date": "2024-02-01", "complete_resection": True, "residual_disease": "none"},
                  at("2024-02-01"))
    rising_after_surgery = [ca("1", "2024-01-10", 20), surgery, ca("2", "2024-02-10", 90),
                            ca("3", "2024-02-20", 95)]
    assert not derive_subject_pfs(Subj(), rising_after_surgery).event
    later = [*rising_after_surgery, ca("4", "2024-04-01", 80), ca("5", "2024-04-09", 85)]
    pfs = derive_subject_pfs(Subj(), later)
    assert pfs.event_type is PfsEventType.PROGRESSION_CA125
    assert pfs.end_date == dt.date(2024, 4, 1)


def test_adtte_rows_are_sorted_flag_invalidations_known_by_the_cutoff_and_skip_late_subjects(
) -> None:
    subjects = [
        Subj("S01-0003", invalidated=True, invalidated_at=at("2024-06-01")),
        Subj("S01-0001", arm="CHEMO"),
        Subj("S01-0002", randomization_date=dt.date(2024, 5, 1)),
    ]
    rows = adtte_rows(subjects, {})
    assert [r.usubjid for r in rows] == ["S01-0001", "S01-0002", "S01-0003"]
    assert [r.invalidated for r in rows] == [False, False, True]
    assert rows[0].strata == "ecog=0;site=S01"
    assert rows[0].aval == 1 and rows[0].cnsdtdsc == "Randomization"
    early = adtte_rows(subjects, {}, dt.date(2024, 4, 1))
    assert [(r.usubjid, r.invalidated) for r in early] == [("S01-0001", False),
                                                          ("S01-0003", False)]
    assert strata_label({}) == ""


def test_posted_adtte_fills_optional_columns_and_names_lines_as_posted() -> None:
    text = ("USUBJID,ARM,STARTDT,ADT,AVAL,CNSR\n"
            "B,CHEMO,2024-01-01,2024-01-10,10,0\n"
            "\n"
            "A,SCS_CHEMO,2024-01-01,2024-01-05,5,1\n")
    rows = read_posted_adtte(text)
    assert [(r.usubjid, r.evntdesc, r.cnsdtdsc, r.strata) for r in rows] == [
        ("A", "", "Last Tumor Assessment", ""), ("B", "Disease Progression", "", "")]

    broken = text + "C,CHEMO,2024-01-01,2024-01-09,10,0\nD,CHEMO,2024-01-01,2024-01-0x,3\n"
    with pytest.raises(AdtteValidationError) as caught:
        read_posted_adtte(broken)
    where = {(i.row, i.column) for i in caught.value.issues}
    assert where == {(5, "AVAL"), (6, "*"), (6, "ADT"), (6, "CNSR")}


def test_consort_boxes_add_up() -> None:
    @dataclass
    class Screen:
        subject_id: str
        outcome: str
        failed_criteria: list[str] | None = None

    @dataclass
    class Decision:
        subject_id: str
        decision: str
        failed_criteria: list[str] = field(default_factory=list)

    @dataclass
    class Prediction:
        subject_id: str
        classification: str

    screenings = [Screen("a", "ineligible", ["INC-02", "EXC-01"]), Screen("b", "eligible"),
                  Screen("b", "eligible"), Screen("c", "eligible"), Screen("d", "incomplete"),
                  Screen("e", "eligible"), Screen("f", "eligible"), Screen("g", "ineligible")]
    decisions = [Decision("b", "rejected", ["INC-05"]), Decision("c", "confirmed"),
                 Decision("e", "confirmed")]
    predictions = [Prediction("b", "not_highly_likely"),
                   Prediction("c", "highly_likely_complete_resection"),
                   Prediction("e", "highly_likely_complete_resection")]
    subjects = [Subj("e"), Subj("x", arm="CHEMO", invalidated=True)]
    surgery = Rec("s", "surgery", RANDOMIZED, {}, at("2024-02-01"))
    flow = build_consort(screenings, decisions, predictions, subjects, {"e": [surgery]},
                         population="excluding_invalidated")
    assert flow.screened_subjects == 7 and flow.screenings == 8
    assert flow.latest_outcome_by_subject == {"eligible": 4, "incomplete": 1, "ineligible": 2}
    enrollment = flow.enrollment
    assert enrollment.excluded.model_dump() == {
        "total": 4, "not_meeting_inclusion_criteria": 3, "eligible_not_randomized": 1,
        "by_criterion": {"EXC-01": 1, "INC-02": 1, "INC-05": 1, "unspecified": 1}}
    assert enrollment.awaiting_eligibility_decision == 2  # d (incomplete), f (awaiting)
    assert enrollment.randomized == 2
    assert enrollment.assessed_for_eligibility == 8  # x was randomized without a screening
    assert enrollment.predicted_by_classification == {
        "highly_likely_complete_resection": 2, "not_highly_likely": 1}
    scs, chemo = flow.allocation
    assert (scs.allocated, scs.received_allocated_intervention, scs.analysed) == (1, 1, 1)
    assert (chemo.allocated, chemo.received_allocated_intervention, chemo.invalidated,
            chemo.analysed, chemo.excluded_from_analysis) == (1, 1, 1, 0, 1)
    svg = render_consort_svg(flow)
    assert svg.startswith("<svg") and "Assessed for eligibility (n=8)" in svg
    assert "INC-02 (n=1)" in svg and "Randomized (n=2)" in svg


def test_visits_after_the_end_of_follow_up_are_not_required() -> None:
    @dataclass
    class Planned:
        number: int
        month: int
        target_date: dt.date
        window_start: dt.date
        window_end: dt.date

    def planned(n: int, target: str) -> Planned:
        day = dt.date.fromisoformat(target)
        return Planned(n, 3 * n, day, day - dt.timedelta(days=14), day + dt.timedelta(days=14))

    visits = [planned(1, "2024-04-10"), planned(2, "2024-07-10"), planned(3, "2024-10-10"),
              planned(4, "2025-01-10")]
    records = [recist("a", "2024-01-10", 50, "2024-01-10"),
               recist("b", "2024-04-12", 48, "2024-04-12"),
               recist("c", "2024-09-01", 80, "2024-09-01")]  # unscheduled, progression
    pfs = derive_subject_pfs(Subj(), records)
    ended = follow_up_end(records, pfs)
    assert ended == dt.date(2024, 9, 1)
    views, unscheduled = visit_views(visits, records, ended, dt.date(2024, 12, 1))
    assert [v.status for v in views] == ["done", "overdue", "not_required", "not_required"]
    assert unscheduled == [dt.date(2024, 1, 10), dt.date(2024, 9, 1)]
    ongoing, _ = visit_views(visits, records[:2], None, dt.date(2024, 10, 1))
    assert [v.status for v in ongoing] == ["done", "overdue", "due", "upcoming"]
