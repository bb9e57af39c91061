"""One contract for the repositories, run against the in-memory fakes and the SQL repositories
on SQLite and PostgreSQL: what the use-case tests learn from the fakes holds on the databases."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime, timedelta

import pytest
from randomization_fakes import FakeRandomizationUnitOfWork, FakeStore

from rescue_randomization.adapters.unit_of_work import SqlRandomizationUnitOfWork
from rescue_randomization.app import DEFINITION
from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.audit_chain import GENESIS_HASH
from rescue_randomization.domain.audit_trail import append_entry
from rescue_randomization.domain.records import (
    AllocationRecord,
    CandidateRecord,
    PendingDecisionRecord,
    PredictionRecord,
    StratumCounterRecord,
    TrialRecord,
)
from rescue_randomization.service_layer.unit_of_work import (
    CommitConflict,
    RandomizationUnitOfWork,
)
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.db.engine import Database
from rescue_shared.db.migrations import upgrade_to_head
from rescue_shared.testing import settings_for

Units = Callable[[], AbstractAsyncContextManager[RandomizationUnitOfWork]]
AT = datetime(2026, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)


def allocation(sequence: int, subject_id: str, site_id: str = "S01",
               arm: str = "CHEMO") -> AllocationRecord:
    return AllocationRecord(
        sequence=sequence, randomization_number=f"R-{sequence + 1:05d}", subject_id=subject_id,
        site_id=site_id, stratum_key=f"site={site_id}", stratum={"site": site_id},
        slot_index=sequence, arm=arm, scheme="permuted_blocks", protocol_version="1",
        details={}, planned_maintenance="none", consent_confirmed=True, allocated_at=AT,
        randomization_date=date(2026, 3, 2), allocated_by="user")


class RepositoryContract:
    """The checks; a subclass gives `units`, a factory of fresh units of work on one store."""

    async def test_the_audit_head_moves_with_each_appended_entry(self, units: Units) -> None:
        async with units() as uow:
            head = await uow.audit.lock_head()
            assert (head.entries, head.hash) == (0, GENESIS_HASH)
            first = append_entry(head, "allocation", "user", ["site_user"], {"arm": "CHEMO"},
                                 recorded_at=AT, site_id="S01", subject_id="S01-0001")
            await uow.audit.append(head, first)
            second = append_entry(head, "export", "monitor", ["monitor"], {"rows": 1},
                                  recorded_at=AT + timedelta(seconds=1))
            await uow.audit.append(head, second)
            await uow.commit()
        async with units() as uow:
            head = await uow.audit.lock_head()
            assert (head.entries, head.hash) == (2, second.hash)
            assert await uow.audit.head() == head
            assert await uow.audit.entries() == [first, second]
            assert await uow.audit.entries(after=0) == [second]
            assert await uow.audit.entries(limit=1) == [first]
            assert await uow.audit.entries(subject_id="S01-0001") == [first]
            assert await uow.audit.entries(entry_type="export") == [second]
            assert await uow.audit.chain() == (second.hash, [first, second])

    async def test_the_trial_is_added_once_and_saved(self, units: Units) -> None:
        trial = TrialRecord(protocol_version="1", number_prefix="R-",
                            config={"scheme": {"scheme": "big_stick"}}, seed_hex="ab" * 32,
                            seed_sha256="cd" * 32, set_up_at=AT, set_up_by="admin",
                            configured_at=AT)
        async with units() as uow:
            assert await uow.trials.get() is None
            await uow.trials.add(trial)
            await uow.commit()
        async with units() as uow:
            stored = await uow.trials.get()
            assert stored == trial
            assert stored is not None
            stored.allocations, stored.locked_at, stored.locked_by = 3, AT, "admin"
            await uow.trials.save(stored)
            await uow.commit()
        async with units() as uow:
            assert await uow.trials.get() == stored

    async def test_what_is_not_committed_is_not_kept(self, units: Units) -> None:
        candidate = CandidateRecord(subject_id="S01-0001", site_id="S01",
                                    latest_screening_id="s1", screening_outcome="eligible",
                                    first_seen_at=AT, clinical_facts={"ecog": 0})
        async with units() as uow:
            await uow.candidates.add(candidate)
            await uow.rollback()
            assert await uow.candidates.get("S01-0001") is None
            await uow.candidates.add(candidate)
            await uow.commit()
        async with units() as uow:  # leaving a unit without commit rolls it back
            stored = await uow.candidates.get("S01-0001")
            assert stored == candidate and stored is not None
            stored.eligibility_status = "confirmed"
            await uow.candidates.save(stored)
        async with units() as uow:
            stored = await uow.candidates.get("S01-0001")
            assert stored is not None and stored.eligibility_status == "pending"
            stored.clinical_facts = {"ecog": 1}  # a copy: changes nothing until saved
            assert await uow.candidates.get("S01-0001") == candidate

    async def test_subject_records_round_trip(self, units: Units) -> None:
        candidate = CandidateRecord(
            subject_id="S01-0001", site_id="S01", latest_screening_id="s1",
            screening_outcome="incomplete", first_seen_at=AT, awaiting_prediction=True,
            screenings_seen=2, screening_date=date(2026, 3, 2), protocol_version="1",
            clinical_facts={"platinum_free_interval_months": 9.5, "histology": "hgsc"},
            failed_criteria=["INC-02"], missing_facts=["ecog"], eligibility_status="rejected",
            eligibility_reason="INC-05 not met", eligibility_decided_at=AT,
            latest_screening_at=AT)
        prediction = PredictionRecord(subject_id="S01-0001", site_id="S01", prediction_id="p1",
                                      version=2, classification="not_highly_likely",
                                      received_at=AT)
        decision = PendingDecisionRecord(
            screening_id="s2", subject_id="S01-0001", site_id="S01", decision="rejected",
            event_type="eligibility.rejected", event_id="e1", producer="eligibility",
            occurred_at=AT, parked_at=AT, reason="INC-05 not met", failed_criteria=["INC-05"])
        counter = StratumCounterRecord(stratum_key="site=S01", levels={"site": "S01"})
        async with units() as uow:
            await uow.candidates.add(candidate)
            await uow.predictions.add(prediction)
            await uow.pending_decisions.add(decision)
            assert await uow.counters.locked("site=S01") is None
            await uow.counters.add(counter)
            await uow.commit()
        async with units() as uow:
            assert await uow.candidates.get("S01-0001") == candidate
            assert await uow.predictions.get("S01-0001") == prediction
            assert await uow.pending_decisions.get("s2") == decision
            assert await uow.pending_decisions.get("s1") is None
            locked = await uow.counters.locked("site=S01")
            assert locked == counter and locked is not None
            locked.next_slot, locked.chemo = 1, 1
            await uow.counters.save(locked)
            decision.applied_at = AT
            await uow.pending_decisions.save(decision)
            await uow.commit()
        async with units() as uow:
            assert await uow.counters.locked("site=S01") == locked
            assert await uow.pending_decisions.get("s2") == decision

    async def test_allocations_in_order_by_subject_and_site(self, units: Units) -> None:
        async with units() as uow:
            for record in (allocation(0, "S01-0001"), allocation(1, "S02-0001", "S02", "SCS_CHEMO"),
                           allocation(2, "S01-0002")):
                await uow.allocations.add(record)
            await uow.commit()
        async with units() as uow:
            assert [a.subject_id for a in await uow.allocations.in_order()] == [
                "S01-0001", "S02-0001", "S01-0002"]
            assert [a.sequence for a in await uow.allocations.in_order("S01")] == [0, 2]
            assert await uow.allocations.of_subject("S02-0001") == allocation(
                1, "S02-0001", "S02", "SCS_CHEMO")
            assert await uow.allocations.of_subject("S03-0001") is None
            assert await uow.allocations.is_randomized("S01-0002")
            assert not await uow.allocations.is_randomized("S03-0001")
            weighed = await uow.allocations.strata_and_arms()
            assert sorted((s["site"], a) for s, a in weighed) == [
                ("S01", Arm.CHEMO), ("S01", Arm.CHEMO), ("S02", Arm.SCS_CHEMO)]
            assert all(isinstance(a, Arm) for _, a in weighed)
            invalidated = await uow.allocations.of_subject("S01-0001")
            assert invalidated is not None
            invalidated.invalidated_at, invalidated.invalidated_by = AT, "investigator"
            invalidated.invalidation_reason = "randomized in plain error"
            await uow.allocations.save(invalidated)
            await uow.commit()
        async with units() as uow:
            assert await uow.allocations.of_subject("S01-0001") == invalidated

    @pytest.mark.parametrize("clash", ["subject", "slot", "sequence"])
    async def test_a_second_allocation_of_a_key_is_refused_at_commit(
        self, units: Units, clash: str,
    ) -> None:
        async with units() as uow:
            await uow.allocations.add(allocation(0, "S01-0001"))
            await uow.commit()
        second = allocation(1, "S01-0002")
        if clash == "subject":
            second.subject_id = "S01-0001"
        elif clash == "slot":
            second.slot_index = 0
        else:
            second.sequence = 0
        async with units() as uow:
            await uow.allocations.add(second)
            with pytest.raises(CommitConflict):
                await uow.commit()
            await uow.rollback()
            assert [a.subject_id for a in await uow.allocations.in_order()] == ["S01-0001"]


class TestFakeRepositories(RepositoryContract):
    @pytest.fixture
    def units(self) -> Units:
        store = FakeStore()

        @contextlib.asynccontextmanager
        async def unit() -> AsyncIterator[RandomizationUnitOfWork]:
            async with FakeRandomizationUnitOfWork(store) as uow:
                yield uow

        return unit


@pytest.mark.integration
class TestSqlRepositories(RepositoryContract):
    @pytest.fixture
    async def units(self, database_url: str) -> AsyncIterator[Units]:
        await upgrade_to_head(database_url, DEFINITION.migrations)
        database = Database(database_url)
        settings = settings_for(RandomizationSettings, database_url=database_url,
                                messaging_enabled=False)

        @contextlib.asynccontextmanager
        async def unit() -> AsyncIterator[RandomizationUnitOfWork]:
            async with SqlRandomizationUnitOfWork(database, settings) as uow:
                yield uow

        try:
            yield unit
        finally:
            await database.dispose()
