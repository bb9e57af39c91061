"""One contract for the eligibility repositories: the same checks on the in-memory fakes and on
the SQL repositories (SQLite and PostgreSQL), so that the use-case tests on fakes mean something.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from eligibility_fakes import FakeEligibilityUnitOfWork, FakeStore
from harness import ELIGIBLE_FACTS

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_eligibility.adapters.unit_of_work import SqlEligibilityUnitOfWork
from rescue_eligibility.domain.evaluation import evaluate, finalize
from rescue_eligibility.domain.facts import ClinicalFacts
from rescue_eligibility.domain.model import AccessRefusal, Screening, Subject
from rescue_shared.audit.chain import Actor, AuditDraft
from rescue_shared.audit.trail import verify_trail
from rescue_shared.testing import RunningService

pytestmark = pytest.mark.integration
OpenUoW = Callable[[], AbstractAsyncContextManager[Any]]
AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
FACTS = ClinicalFacts.model_validate(ELIGIBLE_FACTS)
JUDGED = evaluate(PROTOCOL_FILES.load("1"), FACTS)


def screening(sid: str, subject_id: str, minutes: int, site: str = "S01") -> Screening:
    return Screening(id=sid, subject_id=subject_id, site_id=site,
                     screening_date=dt.date(2026, 3, 2), protocol_version="1",
                     facts=FACTS.known(), result=JUDGED, screened_by="nurse-1",
                     created_at=AT + dt.timedelta(minutes=minutes))


def refusal(subject_id: str, site: str, minutes: int) -> AccessRefusal:
    return AccessRefusal(attempted_at=AT + dt.timedelta(minutes=minutes), actor="doctor-2",
                         actor_roles=["investigator"], site_id=site, subject_id=subject_id,
                         action="screening", cause="reserved", correlation_id="c-1")


async def screenings_are_stored_finalized_and_listed_in_the_order_made(
    open_uow: OpenUoW,
) -> None:
    async with open_uow() as uow:
        # Added out of order; the order made is creation time, then id.
        for row in (screening("b", "S01-0001", 5), screening("c", "S02-0001", 1, "S02"),
                    screening("a", "S01-0001", 5), screening("d", "S01-0002", 0)):
            await uow.screenings.add(row)
        await uow.commit()
    async with open_uow() as uow:
        stored = await uow.screenings.get("a")
        assert stored == screening("a", "S01-0001", 5)
        assert await uow.screenings.get("z") is None
        assert [s.id for s in await uow.screenings.of_subject("S01-0001")] == ["a", "b"]
        assert [s.id for s in await uow.screenings.all()] == ["d", "c", "a", "b"]
        assert [s.id for s in await uow.screenings.all(frozenset({"S01"}))] == ["d", "a", "b"]
        assert [s.id for s in await uow.screenings.all(frozenset({"S01", "S02"}))] == [
            "d", "c", "a", "b"]
        assert await uow.screenings.all(frozenset()) == []
        stored.final_result = finalize(stored.result, "highly_likely_complete_resection")
        stored.prediction_id, stored.decided_at = "p-1", AT
        await uow.screenings.save(stored)
        unsaved = await uow.screenings.get("b")
        unsaved.prediction_id = "p-unsaved"  # changed, never saved
        await uow.commit()
    async with open_uow() as uow:
        again = await uow.screenings.get("a")
        assert again == stored and again.final_decision == "eligible"
        assert (await uow.screenings.get("b")).prediction_id is None


async def subjects_are_claimed_once_saved_and_found_by_letter_case(open_uow: OpenUoW) -> None:
    async with open_uow() as uow:
        claimed = await uow.subjects.claim("S01-0001", "S01")
        assert claimed == Subject(subject_id="S01-0001", site_id="S01")
        claimed.latest_screening_id, claimed.prediction_version = "a", 2
        claimed.prediction_id, claimed.prediction_classification = "p-2", "not_highly_likely"
        await uow.subjects.save(claimed)
        await uow.commit()
    async with open_uow() as uow:
        assert await uow.subjects.get("S01-0001") == claimed
        assert await uow.subjects.claim("S01-0001", "S02") == claimed  # her site stays S01
        assert await uow.subjects.get("S09-0001") is None
        assert await uow.subjects.case_twin("s01-0001") == "S01-0001"
        assert await uow.subjects.case_twin("S01-0001") is None
        assert await uow.subjects.case_twin("S01-0002") is None


async def what_is_not_committed_is_forgotten(open_uow: OpenUoW) -> None:
    async with open_uow() as uow:
        await uow.subjects.claim("S01-0001", "S01")
        await uow.commit()
    async with open_uow() as uow:  # left without a commit
        subject = await uow.subjects.claim("S01-0001", "S01")
        subject.prediction_version = 5
        await uow.subjects.save(subject)
        await uow.subjects.claim("S01-0002", "S01")
        await uow.screenings.add(screening("a", "S01-0001", 0))
        await uow.refusals.add(refusal("test", "S01", 0))
    async with open_uow() as uow:  # rolled back mid-way, then committed (as a refusal does)
        await uow.subjects.claim("S01-0003", "S01")
        await uow.rollback()
        await uow.refusals.add(refusal("none", "S02", 1))
        await uow.commit()
    async with open_uow() as uow:
        assert (await uow.subjects.get("S01-0001")).prediction_version is None
        assert await uow.subjects.get("S01-0002") is None
        assert await uow.subjects.get("S01-0003") is None
        assert await uow.screenings.all() == []
        assert [r.subject_id for r in await uow.refusals.newest()] == ["none"]


async def refusals_come_back_newest_first_filtered_and_limited(open_uow: OpenUoW) -> None:
    async with open_uow() as uow:
        for n, (subject_id, site) in enumerate((("test", "S01"), ("none", "S02"),
                                                ("tbd", "S02"))):
            await uow.refusals.add(refusal(subject_id, site, n))
        await uow.commit()
    async with open_uow() as uow:
        newest = await uow.refusals.newest()
        assert [r.subject_id for r in newest] == ["tbd", "none", "test"]
        assert all(r.id is not None for r in newest)
        oldest = newest[-1]
        oldest.id = None
        assert oldest == refusal("test", "S01", 0)
        assert [r.subject_id for r in await uow.refusals.newest(site_id="S02", limit=1)] == [
            "tbd"]
        assert [r.site_id for r in await uow.refusals.newest(subject_id="test")] == ["S01"]


async def the_audit_trail_appends_at_commit_and_filters(open_uow: OpenUoW) -> None:
    def draft(n: int, site: str | None, subject_id: str | None) -> AuditDraft:
        return AuditDraft(action="export.downloaded" if subject_id is None else "test.changed",
                          actor=Actor("nurse-1", ("site_user",)), site_id=site,
                          subject_id=subject_id, before={"n": n - 1}, after={"n": n},
                          reason="why" if n else None)

    async with open_uow() as uow:
        uow.audit.record(draft(0, "S01", "S01-0001"))
        await uow.rollback()  # as a refusal does: the staged entry is dropped
        for n, (site, subject_id) in enumerate((("S01", "S01-0001"), ("S02", "S02-0001"),
                                                (None, None), ("S01", "S01-0001"))):
            uow.audit.record(draft(n, site, subject_id))
        await uow.commit()
    async with open_uow() as uow:  # left without a commit
        uow.audit.record(draft(9, "S01", "S01-0001"))
    async with open_uow() as uow:
        head = await uow.audit.head()
        every = await uow.audit.entries()
        assert head.entries == 4 and head.hash == every[-1].hash
        assert [e.sequence for e in every] == [0, 1, 2, 3]
        assert every[3].after == {"n": 3} and every[3].reason == "why"
        assert every[0].actor_roles == ["site_user"] and every[2].site_id is None
        assert [e.sequence for e in await uow.audit.entries(after=0, limit=2)] == [1, 2]
        assert [e.sequence for e in await uow.audit.entries(subject_id="S01-0001")] == [0, 3]
        assert [e.sequence for e in await uow.audit.entries(action="export.downloaded")] == [2]
        assert [e.sequence for e in await uow.audit.entries(
            site_ids=frozenset({"S02"}))] == [1]
        assert (await verify_trail(uow.audit)).valid


CHECKS = [screenings_are_stored_finalized_and_listed_in_the_order_made,
          subjects_are_claimed_once_saved_and_found_by_letter_case,
          what_is_not_committed_is_forgotten,
          refusals_come_back_newest_first_filtered_and_limited,
          the_audit_trail_appends_at_commit_and_filters]
Check = Callable[[OpenUoW], Awaitable[None]]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_the_fake_repositories_keep_the_contract(check: Check) -> None:
    store = FakeStore()
    await check(lambda: FakeEligibilityUnitOfWork(store))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
async def test_the_sql_repositories_keep_the_contract(
    check: Check, eligibility: RunningService
) -> None:
    await check(lambda: SqlEligibilityUnitOfWork(eligibility.app.state.database,
                                                 eligibility.settings))
