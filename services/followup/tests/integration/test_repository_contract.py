"""One contract for the follow-up repositories: the same checks on the in-memory fakes and on
the SQL repositories (SQLite and PostgreSQL), so that the use-case tests on fakes mean something.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from followup_fakes import FakeFollowupUnitOfWork, FakeStore

from rescue_followup.adapters.unit_of_work import SqlFollowupUnitOfWork
from rescue_followup.domain.model import (
    EligibilityDecision,
    ParkedInvalidation,
    PlannedVisit,
    Prediction,
    Record,
    Screening,
    Subject,
)
from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
OpenUoW = Callable[[], AbstractAsyncContextManager[Any]]
AT = dt.datetime(2024, 1, 10, 9, 30, tzinfo=dt.UTC)
DAY = dt.date(2024, 1, 10)


def subject(subject_id: str, site: str = "S01", number: str | None = None) -> Subject:
    return Subject(subject_id=subject_id, site_id=site,
                   randomization_number=number or f"R-{subject_id}", arm="CHEMO",
                   stratum={"pfi": ">12", "site": site}, randomization_date=DAY,
                   scheme="stratified-block-v1", protocol_version="1",
                   assigned_event_id=f"e-{subject_id}", registered_at=AT)


def record(rid: str, subject_id: str, minutes: int, site: str = "S01",
           supersedes: str | None = None) -> Record:
    return Record(id=rid, subject_id=subject_id, site_id=site, type="recist",
                  assessment_date=DAY + dt.timedelta(days=minutes),
                  data={"target_lesion_sum_mm": 40.0 + minutes, "new_lesions": False},
                  recorded_by="nurse-1", created_at=AT + dt.timedelta(minutes=minutes),
                  supersedes_id=supersedes,
                  correction_reason="typing error in the sum" if supersedes else None)


def visit(subject_id: str, number: int) -> PlannedVisit:
    target = DAY + dt.timedelta(days=91 * number)
    return PlannedVisit(subject_id=subject_id, number=number, month=3 * number,
                        target_date=target, window_start=target - dt.timedelta(days=14),
                        window_end=target + dt.timedelta(days=14))


async def subjects_are_stored_changed_and_listed(open_uow: OpenUoW) -> None:
    async with open_uow() as uow:
        for subject_id, site in (("S02-0001", "S02"), ("S01-0002", "S01"),
                                 ("S01-0001", "S01")):
            await uow.subjects.add(subject(subject_id, site))
        await uow.commit()
    async with open_uow() as uow:
        stored = await uow.subjects.get("S01-0001", lock=True)
        assert stored == subject("S01-0001")
        assert await uow.subjects.get("S09-0001") is None
        assert await uow.subjects.with_allocation("S01-0001", "R-S01-0001") == stored
        assert await uow.subjects.with_allocation("S01-0001", "R-other") is None
        stored.invalidated, stored.invalidated_at = True, AT
        stored.invalidation_reason = "randomized twice by mistake"
        stored.announced_event_date, stored.announced_event_kind = DAY, "death"
        await uow.subjects.save(stored)
        await uow.commit()
    async with open_uow() as uow:
        again = await uow.subjects.get("S01-0001")
        assert again == stored
        again.arm = "SCS_CHEMO"  # changed, never saved
        unsaved = await uow.subjects.get("S01-0002")
        unsaved.invalidated = True
        await uow.subjects.save(unsaved)  # saved, then rolled back
        await uow.rollback()
    async with open_uow() as uow:
        assert (await uow.subjects.get("S01-0001")).arm == "CHEMO"
        assert (await uow.subjects.get("S01-0002")).invalidated is False
        assert [s.subject_id for s in await uow.subjects.all()] == [
            "S01-0001", "S01-0002", "S02-0001"]
        assert [s.subject_id for s in await uow.subjects.all(frozenset({"S02"}))] == ["S02-0001"]
        assert [s.subject_id for s in await uow.subjects.all(frozenset({"S01", "S02"}))] == [
            "S01-0001", "S01-0002", "S02-0001"]
        assert await uow.subjects.all(frozenset({"S09"})) == []


async def records_come_back_in_the_order_they_were_made(open_uow: OpenUoW) -> None:
    async with open_uow() as uow:
        await uow.subjects.add(subject("S01-0001"))
        await uow.subjects.add(subject("S02-0001", "S02"))
        await uow.records.add(record("b", "S01-0001", 5))
        await uow.records.add(record("c", "S01-0001", 1))
        await uow.records.add(record("a", "S01-0001", 5, supersedes="c"))
        await uow.records.add(record("z", "S02-0001", 0, site="S02"))
        await uow.commit()
    async with open_uow() as uow:
        own = await uow.records.of_subject("S01-0001")
        assert [r.id for r in own] == ["c", "a", "b"]
        assert own[1] == record("a", "S01-0001", 5, supersedes="c")
        assert await uow.records.of_subject("S09-0001") == []
        everyone = await uow.records.by_subject()
        assert {k: [r.id for r in v] for k, v in everyone.items()} == {
            "S01-0001": ["c", "a", "b"], "S02-0001": ["z"]}
        assert list(await uow.records.by_subject(frozenset({"S02"}))) == ["S02-0001"]


async def visits_of_registered_subjects_by_number(open_uow: OpenUoW) -> None:
    async with open_uow() as uow:
        await uow.subjects.add(subject("S01-0001"))
        await uow.subjects.add(subject("S02-0001", "S02"))
        await uow.visits.add_schedule([visit("S01-0001", 2), visit("S01-0001", 1)])
        await uow.visits.add_schedule([visit("S02-0001", 1)])
        await uow.commit()
    async with open_uow() as uow:
        assert await uow.visits.of_subject("S01-0001") == [visit("S01-0001", 1),
                                                           visit("S01-0001", 2)]
        assert await uow.visits.by_subject() == {
            "S01-0001": [visit("S01-0001", 1), visit("S01-0001", 2)],
            "S02-0001": [visit("S02-0001", 1)]}
        assert await uow.visits.by_subject(frozenset({"S02"})) == {
            "S02-0001": [visit("S02-0001", 1)]}


async def announcements_of_other_services_are_kept(open_uow: OpenUoW) -> None:
    def screening(n: int, site: str) -> Screening:
        return Screening(event_id=f"e{n}", screening_id=f"s{n}", subject_id=f"{site}-000{n}",
                         site_id=site, screening_date=DAY, outcome="ineligible",
                         failed_criteria=["INC-02"], occurred_at=AT + dt.timedelta(minutes=n))

    decision = EligibilityDecision(subject_id="S01-0001", site_id="S01", screening_id="s1",
                                   decision="confirmed", event_id="d1", decided_at=AT)
    async with open_uow() as uow:
        for n, site in ((3, "S01"), (1, "S02"), (2, "S01")):
            await uow.screenings.add(screening(n, site))
        await uow.decisions.save(decision)
        await uow.decisions.save(EligibilityDecision(
            subject_id="S02-0001", site_id="S02", screening_id="s9", decision="rejected",
            event_id="d9", decided_at=AT, failed_criteria=["INC-05"], reason="INC-05 not met"))
        await uow.predictions.save(Prediction(subject_id="S01-0001", site_id="S01",
                                              prediction_id="p1", version=1,
                                              classification="insufficient_data"))
        await uow.commit()
    replaced = EligibilityDecision(
        subject_id="S01-0001", site_id="S01", screening_id="s2", decision="rejected",
        event_id="d2", decided_at=AT + dt.timedelta(hours=1), failed_criteria=["INC-05"],
        reason="INC-05 not met")
    newer = Prediction(subject_id="S01-0001", site_id="S01", prediction_id="p2", version=2,
                       classification="highly_likely_complete_resection")
    async with open_uow() as uow:
        assert [s.screening_id for s in await uow.screenings.all()] == ["s3", "s1", "s2"]
        assert await uow.screenings.all(frozenset({"S01"})) == [
            screening(3, "S01"), screening(2, "S01")]
        assert await uow.decisions.get("S01-0001") == decision
        await uow.decisions.save(replaced)
        await uow.predictions.save(newer)
        await uow.commit()
    async with open_uow() as uow:
        assert await uow.decisions.get("S01-0001") == replaced
        assert await uow.decisions.get("S09-0001") is None
        assert {d.subject_id for d in await uow.decisions.all()} == {"S01-0001", "S02-0001"}
        assert await uow.decisions.all(frozenset({"S01"})) == [replaced]
        assert await uow.predictions.get("S01-0001") == newer
        assert await uow.predictions.all(frozenset({"S02"})) == []
        assert await uow.predictions.all() == [newer]


async def parked_invalidations_wait_and_are_marked_applied(open_uow: OpenUoW) -> None:
    parked = ParkedInvalidation(
        subject_id="S01-0001", randomization_number="R-S01-0001", site_id="S01",
        reason="randomized twice by mistake", invalidated_by="dm-1", invalidated_at=AT,
        event_id="inv-1", parked_at=AT)
    async with open_uow() as uow:
        await uow.parked_invalidations.add(parked)
        await uow.commit()
    async with open_uow() as uow:
        assert await uow.parked_invalidations.get("S01-0001", "R-S01-0001") == parked
        assert await uow.parked_invalidations.get("S01-0001", "R-other") is None
        parked.applied_at = AT + dt.timedelta(days=1)
        await uow.parked_invalidations.save(parked)
        await uow.commit()
    async with open_uow() as uow:
        assert (await uow.parked_invalidations.get("S01-0001", "R-S01-0001")) == parked


CHECKS = [subjects_are_stored_changed_and_listed, records_come_back_in_the_order_they_were_made,
          visits_of_registered_subjects_by_number, announcements_of_other_services_are_kept,
          parked_invalidations_wait_and_are_marked_applied]
Check = Callable[[OpenUoW], Awaitable[None]]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_the_fake_repositories_keep_the_contract(check: Check) -> None:
    store = FakeStore()
    await check(lambda: FakeFollowupUnitOfWork(store))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_the_sql_repositories_keep_the_contract(
    check: Check, followup: RunningService
) -> None:
    await check(lambda: SqlFollowupUnitOfWork(followup.app.state.database, followup.settings))
