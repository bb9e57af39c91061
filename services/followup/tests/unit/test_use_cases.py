"""The follow-up use cases on in-memory fakes: each rule and each refusal, no database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from followup_fakes import FakeFollowupUnitOfWork, FakeStore

from rescue_followup.domain.model import Screening
from rescue_followup.service_layer import (
    analysis,
    announced,
    assessments,
    consort,
    registration,
    visits,
)
from rescue_followup.service_layer.assessments import NewRecord
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.events import ProgressionRecorded, SubjectWithdrawn
from rescue_shared.errors import Conflict, Forbidden, Invalid, NotFound

RANDOMIZED = dt.date(2024, 1, 10)
AT = dt.datetime(2024, 1, 10, 9, tzinfo=dt.UTC)
SITE_USER = Principal(sub="nurse-1", site_id="S01", roles=frozenset({"site_user"}))
OTHER_SITE = Principal(sub="nurse-2", site_id="S02", roles=frozenset({"site_user"}))
STATISTICIAN = Principal(sub="stat-1", site_id=None, roles=frozenset({"statistician"}))


def day(offset: int) -> dt.date:
    return RANDOMIZED + dt.timedelta(days=offset)


async def registered(store: FakeStore, subject_id: str = "S01-0001", site: str = "S01",
                     arm: str = "SCS_CHEMO") -> None:
    uow = FakeFollowupUnitOfWork(store)
    await registration.register_subject(
        uow, subject_id=subject_id, site_id=site, randomization_number=f"R-{subject_id}",
        arm=arm, stratum={"pfi": ">12"}, randomization_date=RANDOMIZED, scheme="blocks",
        event_id=f"e-{subject_id}")
    await uow.commit()


def recist(offset: int, total: float, new: bool = False, **correction: Any) -> NewRecord:
    return NewRecord(type="recist", date=day(offset), date_field="date",
                     data={"date": day(offset).isoformat(), "target_lesion_sum_mm": total,
                           "new_lesions": new, "non_target_progression": False}, **correction)


def death(offset: int) -> NewRecord:
    return NewRecord(type="death", date=day(offset), date_field="date",
                     data={"date": day(offset).isoformat(), "cause": "disease"})


def withdrawal(offset: int, reason: str = "moved abroad") -> NewRecord:
    return NewRecord(type="withdrawal", date=day(offset), date_field="date",
                     data={"date": day(offset).isoformat(), "reason": reason})


async def record(store: FakeStore, new: NewRecord, actor: Principal = SITE_USER,
                 subject_id: str = "S01-0001") -> FakeFollowupUnitOfWork:
    uow = FakeFollowupUnitOfWork(store)
    await assessments.record_assessment(uow, actor, subject_id, new)
    return uow


# --- registration and invalidation ------------------------------------------------------------

async def test_a_randomized_subject_is_registered_with_her_protocol_schedule() -> None:
    store = FakeStore()
    await registered(store)
    subject = store.subjects["S01-0001"]
    assert (subject.arm, subject.protocol_version, subject.invalidated) == ("SCS_CHEMO", "1",
                                                                            False)
    planned = [v for v in store.visits if v.subject_id == "S01-0001"]
    assert len(planned) == 14 and planned[0].target_date == dt.date(2024, 4, 10)


async def test_a_second_allocation_for_a_registered_subject_registers_nothing() -> None:
    store = FakeStore()
    await registered(store)
    uow = FakeFollowupUnitOfWork(store)
    again = await registration.register_subject(
        uow, subject_id="S01-0001", site_id="S01", randomization_number="R-other", arm="CHEMO",
        stratum={}, randomization_date=RANDOMIZED, scheme="blocks", event_id="e-2")
    await uow.commit()
    assert again is None and store.subjects["S01-0001"].arm == "SCS_CHEMO"
    assert len(store.visits) == 14


async def test_an_invalidation_flags_the_allocation_never_drops_it() -> None:
    store = FakeStore()
    await registered(store)
    uow = FakeFollowupUnitOfWork(store)
    await registration.invalidate_allocation(
        uow, subject_id="S01-0001", site_id="S01", randomization_number="R-S01-0001",
        reason="randomized twice by mistake", invalidated_by="dm-1",
        invalidated_at=dt.datetime(2024, 2, 1, 9), event_id="inv-1")
    await uow.commit()
    subject = store.subjects["S01-0001"]
    assert subject.invalidated and subject.invalidation_reason == "randomized twice by mistake"
    assert subject.invalidated_at == dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC)
    assert store.parked == {}


async def test_an_invalidation_before_its_allocation_is_parked_then_applied_once() -> None:
    store = FakeStore()
    for _ in range(2):  # a republished copy parks nothing more
        uow = FakeFollowupUnitOfWork(store)
        await registration.invalidate_allocation(
            uow, subject_id="S01-0001", site_id="S01", randomization_number="R-S01-0001",
            reason="randomized twice by mistake", invalidated_by="dm-1", invalidated_at=AT,
            event_id="inv-1")
        await uow.commit()
    assert list(store.parked) == [("S01-0001", "R-S01-0001")]
    assert "S01-0001" not in store.subjects
    await registered(store)
    assert store.subjects["S01-0001"].invalidated
    assert store.parked["S01-0001", "R-S01-0001"].applied_at is not None


# --- what other services announced ------------------------------------------------------------

async def test_the_decision_that_occurred_last_is_kept_whatever_the_arrival_order() -> None:
    store = FakeStore()

    async def decide(kind: Any, minute: int) -> None:
        uow = FakeFollowupUnitOfWork(store)
        await announced.keep_latest_decision(
            uow, subject_id="S01-0001", site_id="S01", screening_id=f"scr-{minute}",
            decision=kind, failed_criteria=["INC-05"], reason="INC-05 not met",
            event_id=f"e-{minute}", occurred_at=AT + dt.timedelta(minutes=minute),
            event_type=f"eligibility.{kind}")
        await uow.commit()

    await decide("rejected", 11)
    await decide("confirmed", 1)  # older: changes nothing
    kept = store.decisions["S01-0001"]
    assert (kept.decision, kept.failed_criteria, kept.reason) == (
        "rejected", ["INC-05"], "INC-05 not met")
    await decide("confirmed", 20)
    kept = store.decisions["S01-0001"]
    assert (kept.decision, kept.failed_criteria, kept.reason) == ("confirmed", [], None)


async def test_the_highest_prediction_version_is_kept() -> None:
    store = FakeStore()
    for version, classification in ((2, "highly_likely_complete_resection"),
                                    (1, "insufficient_data")):
        uow = FakeFollowupUnitOfWork(store)
        await announced.keep_latest_prediction(
            uow, subject_id="S01-0001", site_id="S01", prediction_id=f"p{version}",
            version=version, classification=classification)
        await uow.commit()
    assert (store.predictions["S01-0001"].version,
            store.predictions["S01-0001"].classification) == (
        2, "highly_likely_complete_resection")


# --- recording assessments --------------------------------------------------------------------

async def test_a_progression_is_recorded_and_announced_once() -> None:
    store = FakeStore()
    await registered(store)
    await record(store, recist(0, 50.0))
    uow = await record(store, recist(90, 70.0))
    [progression] = uow.payloads(ProgressionRecorded)
    assert (progression.event_date, progression.event_kind, progression.pfs_days) == (
        day(90), "progression_recist", 91)
    assert uow.committed[0].causation_id == store.records[-1].id
    later = await record(store, recist(180, 80.0))
    assert later.payloads() == []  # the same event: nothing new to announce
    assert store.subjects["S01-0001"].announced_event_date == day(90)


async def test_a_correction_that_changes_the_event_announces_it_again() -> None:
    store = FakeStore()
    await registered(store)
    await record(store, recist(0, 50.0))
    await record(store, recist(90, 70.0))
    typo = store.records[-1].id
    uow = await record(store, recist(90, 52.0, supersedes=typo,
                                     correction_reason="typing error in the sum"))
    assert uow.payloads() == []  # the event is gone: no retraction exists
    assert store.subjects["S01-0001"].announced_event_date is None
    assert [r.id for r in store.records if r.supersedes_id == typo]
    with pytest.raises(Conflict) as caught:
        await record(store, recist(90, 53.0, supersedes=typo,
                                   correction_reason="another typing error here"))
    assert caught.value.title == "Record already corrected"
    assert caught.value.extensions["record_id"] == store.records[-1].id


async def test_a_withdrawal_is_announced_with_its_reason() -> None:
    store = FakeStore()
    await registered(store)
    uow = await record(store, withdrawal(40))
    [withdrawn] = uow.payloads(SubjectWithdrawn)
    assert (withdrawn.withdrawal_date, withdrawn.reason) == (day(40), "moved abroad")
    with pytest.raises(Conflict) as caught:
        await record(store, withdrawal(50))
    assert caught.value.title == "End of follow-up already recorded"


@pytest.mark.parametrize(("actor", "error"), [
    (OTHER_SITE, NotFound),
    (Principal(sub="x", site_id="S02", roles=frozenset({"investigator", "monitor"})), Forbidden),
])
async def test_only_the_subjects_own_site_records(actor: Principal, error: type) -> None:
    store = FakeStore()
    await registered(store)
    uow = FakeFollowupUnitOfWork(store)
    with pytest.raises(error):
        await assessments.record_assessment(uow, actor, "S01-0001", recist(0, 50.0))
    with pytest.raises(NotFound):
        await assessments.record_assessment(uow, SITE_USER, "S01-9999", recist(0, 50.0))
    assert uow.commits == 0 and store.records == []


async def test_records_the_current_ones_refuse() -> None:
    store = FakeStore()
    await registered(store)
    with pytest.raises(Invalid) as caught:
        await record(store, recist(-1, 50.0))
    assert caught.value.extensions["errors"][0]["rule"] == "before_randomization"
    await record(store, recist(0, 50.0))
    with pytest.raises(Conflict) as same_day:
        await record(store, recist(0, 51.0))
    assert same_day.value.title == "Record exists for that date"
    with pytest.raises(Invalid) as unknown:
        await record(store, recist(5, 50.0, supersedes="no-such-record",
                                   correction_reason="wrong patient entered here"))
    assert unknown.value.extensions["errors"][0] == {
        "field": "recist.supersedes", "rule": "not_found",
        "message": "subject S01-0001 has no record no-such-record"}
    await record(store, recist(30, 50.0))
    with pytest.raises(Invalid) as early_death:
        await record(store, death(10))
    assert early_death.value.extensions["errors"][0]["rule"] == "records_after_death"
    await record(store, death(60))
    with pytest.raises(Conflict) as twice:
        await record(store, death(70))
    assert twice.value.title == "Death already recorded"
    with pytest.raises(Invalid) as after:
        await record(store, recist(90, 50.0))
    assert after.value.extensions["errors"][0]["rule"] == "after_death"
    assert len(store.records) == 3


async def test_a_subjects_pfs_at_a_cutoff_and_the_cutoff_before_randomization() -> None:
    store = FakeStore()
    await registered(store)
    await record(store, recist(0, 50.0))
    await record(store, recist(90, 49.0))
    uow = FakeFollowupUnitOfWork(store)
    pfs = await assessments.subject_pfs(uow, STATISTICIAN, "S01-0001")
    assert (pfs.event, pfs.end_date) == (False, day(90))
    with pytest.raises(Invalid):
        await assessments.subject_pfs(uow, STATISTICIAN, "S01-0001", day(-1))
    with pytest.raises(NotFound):
        await assessments.subject_pfs(uow, OTHER_SITE, "S01-0001")
    records, superseded_by = await assessments.subject_records(uow, SITE_USER, "S01-0001")
    assert len(records) == 2 and superseded_by == {}


# --- visits -----------------------------------------------------------------------------------

async def test_overdue_visits_per_site_and_site_staff_see_their_own_only() -> None:
    store = FakeStore()
    await registered(store)
    await registered(store, "S02-0001", "S02")
    today = day(130)  # the month-3 window closed on day 105
    uow = FakeFollowupUnitOfWork(store)
    everyone = await visits.overdue_visits(uow, STATISTICIAN, today)
    assert [(s.site_id, [v.number for v in s.overdue]) for s in everyone.sites] == [
        ("S01", [1]), ("S02", [1])]
    own = await visits.overdue_visits(uow, SITE_USER, today)
    assert [s.site_id for s in own.sites] == ["S01"] and own.total == 1
    assert (await visits.overdue_visits(uow, SITE_USER, today, "S02")).total == 0
    status = await visits.subject_visits(uow, SITE_USER, "S01-0001", today)
    assert [v.status for v in status.visits[:2]] == ["overdue", "upcoming"]


async def test_a_user_of_two_sites_sees_and_records_at_both_and_not_a_third() -> None:
    store = FakeStore()
    for subject_id, site in (("S01-0001", "S01"), ("S02-0001", "S02"), ("S03-0001", "S03")):
        await registered(store, subject_id, site)
    nurse = Principal(sub="n", roles=frozenset({"site_user"}), sites=frozenset({"S01", "S02"}))
    today = day(130)
    uow = FakeFollowupUnitOfWork(store)
    overdue = await visits.overdue_visits(uow, nurse, today)
    assert [s.site_id for s in overdue.sites] == ["S01", "S02"]
    assert [s.site_id for s in (await visits.overdue_visits(uow, nurse, today, "S02")).sites] == [
        "S02"]
    assert (await visits.overdue_visits(uow, nurse, today, "S03")).total == 0
    await assessments.record_assessment(uow, nurse, "S02-0001", recist(0, 50.0))
    with pytest.raises(NotFound):
        await assessments.record_assessment(FakeFollowupUnitOfWork(store), nurse, "S03-0001",
                                            recist(0, 50.0))
    assert [r.subject_id for r in store.records] == ["S02-0001"]
    flow = await consort.consort_flow(FakeFollowupUnitOfWork(store), nurse)
    assert flow.enrollment.randomized == 2


# --- CONSORT and the analysis -----------------------------------------------------------------

async def test_consort_counts_what_was_announced_and_recorded() -> None:
    store = FakeStore()
    uow = FakeFollowupUnitOfWork(store)
    for subject_id, site, outcome in (("S01-0001", "S01", "eligible"),
                                      ("S01-0002", "S01", "ineligible"),
                                      ("S02-0001", "S02", "eligible")):
        await announced.record_screening(uow, Screening(
            event_id=f"e-{subject_id}", screening_id=f"s-{subject_id}", subject_id=subject_id,
            site_id=site, screening_date=RANDOMIZED, outcome=outcome,
            failed_criteria=["INC-02"] if outcome == "ineligible" else [], occurred_at=AT))
    await uow.commit()
    await registered(store)
    flow = await consort.consort_flow(FakeFollowupUnitOfWork(store), STATISTICIAN)
    assert flow.screenings == 3 and flow.enrollment.randomized == 1
    assert flow.enrollment.excluded.by_criterion == {"INC-02": 1}
    investigator = Principal(sub="i", site_id="S02", roles=frozenset({"investigator"}))
    own = await consort.consort_flow(FakeFollowupUnitOfWork(store), investigator)
    assert own.screenings == 1 and own.enrollment.randomized == 0


async def test_the_live_export_has_one_row_per_subject_randomized_by_the_cutoff() -> None:
    store = FakeStore()
    await registered(store, "S01-0002", arm="CHEMO")
    await registered(store)
    await record(store, recist(0, 50.0))
    await record(store, recist(90, 70.0))
    uow = FakeFollowupUnitOfWork(store)
    rows = await analysis.adtte_export(uow)
    assert [(r.usubjid, r.arm, r.cnsr, r.aval, r.strata) for r in rows] == [
        ("S01-0001", "SCS_CHEMO", 0, 91, "pfi=>12"), ("S01-0002", "CHEMO", 1, 1, "pfi=>12")]
    assert uow.rollbacks == 1  # the read ended before computing
    assert await analysis.adtte_export(uow, RANDOMIZED - dt.timedelta(days=1)) == []
    with pytest.raises(Invalid) as caught:
        await analysis.pfs_analysis(rows[:1], "itt")
    assert caught.value.title == "Analysis not possible"


async def test_posted_data_sets_too_large_or_not_text_are_refused() -> None:
    with pytest.raises(Invalid) as caught:
        await analysis.read_posted_adtte(b"\xff\xfe")
    assert caught.value.title == "Invalid ADTTE data"
    assert caught.value.extensions["errors"][0]["rule"] == "encoding"
    with pytest.raises(Invalid) as bad:
        await analysis.read_posted_adtte(b"USUBJID,ARM,STARTDT,ADT,AVAL,CNSR\nA,CHEMO,x,y,1,0\n")
    assert {e["column"] for e in bad.value.extensions["errors"]} >= {"STARTDT", "ADT"}
