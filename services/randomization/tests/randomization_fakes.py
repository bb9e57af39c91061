"""In-memory unit of work and repositories of the randomization service (use-case tests).

A `FakeStore` is the database: every `FakeRandomizationUnitOfWork` opened on it works on a copy
and writes it back on commit (UNIQUE constraints checked as the SQL schema does), so a rollback
undoes everything, as a transaction would. The same contract tests run against these and the SQL
repositories (tests/integration/test_repository_contract.py). Importable as `randomization_fakes`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from randomization_support import confirmed, predicted, screened

from rescue_randomization.adapters.protocol_files import PROTOCOL_FILES
from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.audit_chain import GENESIS_HASH
from rescue_randomization.domain.protocol import RandomizationProtocol
from rescue_randomization.domain.records import (
    AllocationRecord,
    AuditEntryRecord,
    AuditHeadRecord,
    CandidateRecord,
    PendingDecisionRecord,
    PredictionRecord,
    StrataVerificationRecord,
    StratumCounterRecord,
    TrialRecord,
)
from rescue_randomization.entrypoints.events import HANDLERS
from rescue_randomization.service_layer import allocations
from rescue_randomization.service_layer.unit_of_work import CommitConflict, RandomizationUnitOfWork
from rescue_randomization.service_layer.views import RandomizationView
from rescue_shared.auth.tokens import Principal
from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.fakes import FakeUnitOfWork
from rescue_shared.protocols import ProtocolFiles
from rescue_shared.queries.fake import InMemoryDataQueries

R = TypeVar("R")


@dataclass
class FakeStore:
    """The committed state: one dict per table, keyed like the table."""

    tables: dict[str, dict[Any, Any]] = field(default_factory=lambda: {
        "audit_head": {1: AuditHeadRecord(hash=GENESIS_HASH)}, "audit_entries": {},
        "trials": {}, "candidates": {}, "predictions": {}, "pending_decisions": {},
        "counters": {}, "allocations": {}, "strata_verifications": {}, "queries": {}})


@dataclass
class _Work:
    """A unit of work's copy of the store, and the key clashes its commit will refuse."""

    tables: dict[str, dict[Any, Any]]
    added: set[tuple[str, Any]] = field(default_factory=set)
    saved: set[tuple[str, Any]] = field(default_factory=set)
    conflicts: list[str] = field(default_factory=list)
    journal: list[str] = field(default_factory=list)  # reads and locks, in order


class _Table(Generic[R]):
    """Records of one table: copies in, copies out (a record never aliases the store)."""

    def __init__(self, work: _Work, name: str, key: Callable[[R], Any]) -> None:
        self._work = work
        self._name = name
        self._rows: dict[Any, R] = work.tables[name]
        self._key = key

    def get(self, key: Any) -> R | None:
        return copy.deepcopy(self._rows.get(key))

    def add(self, record: R) -> None:
        key = self._key(record)
        if key in self._rows:  # the primary key clashes when the transaction commits
            self._work.conflicts.append(f"duplicate key {key!r}")
            return
        self._rows[key] = copy.deepcopy(record)
        self._work.added.add((self._name, key))

    def save(self, record: R) -> None:
        key = self._key(record)
        if key not in self._rows:
            raise LookupError(f"no record {key!r} to save (add it first)")
        self._rows[key] = copy.deepcopy(record)
        self._work.saved.add((self._name, key))

    def all(self) -> list[R]:
        return [copy.deepcopy(r) for _, r in sorted(self._rows.items())]


class FakeAuditTrail:
    def __init__(self, work: _Work) -> None:
        self._journal = work.journal
        self._heads: _Table[AuditHeadRecord] = _Table(work, "audit_head", lambda h: h.id)
        self._entries: _Table[AuditEntryRecord] = _Table(work, "audit_entries",
                                                          lambda e: e.sequence)

    async def lock_head(self) -> AuditHeadRecord:
        self._journal.append("audit.lock_head")
        head = self._heads.get(1)
        assert head is not None
        return head

    async def append(self, head: AuditHeadRecord, entry: AuditEntryRecord) -> None:
        self._entries.add(entry)
        self._heads.save(head)

    async def head(self) -> AuditHeadRecord | None:
        return self._heads.get(1)

    async def entries(self, *, after: int = -1, limit: int | None = None,
                      subject_id: str | None = None,
                      entry_type: str | None = None) -> list[AuditEntryRecord]:
        found = [e for e in self._entries.all() if e.sequence > after
                 and (subject_id is None or e.subject_id == subject_id)
                 and (entry_type is None or e.entry_type == entry_type)]
        return found if limit is None else found[:limit]

    async def chain(self) -> tuple[str | None, list[AuditEntryRecord]]:
        head = self._heads.get(1)
        return (head.hash if head else None), self._entries.all()


class FakeTrials:
    def __init__(self, work: _Work) -> None:
        self._journal = work.journal
        self._table: _Table[TrialRecord] = _Table(work, "trials", lambda t: t.id)

    async def get(self) -> TrialRecord | None:
        self._journal.append("trials.get")
        return self._table.get(1)

    async def add(self, trial: TrialRecord) -> None:
        self._table.add(trial)

    async def save(self, trial: TrialRecord) -> None:
        self._table.save(trial)


class _FakeByKey(Generic[R]):
    def __init__(self, work: _Work, name: str, key: Callable[[R], Any]) -> None:
        self._journal = work.journal
        self._name = name
        self._table: _Table[R] = _Table(work, name, key)

    async def get(self, key: str) -> R | None:
        self._journal.append(f"{self._name}.get")
        return self._table.get(key)

    async def get_many(self, keys: Collection[str]) -> dict[str, R]:
        self._journal.append(f"{self._name}.get_many")
        return {key: record for key in keys if (record := self._table.get(key)) is not None}

    async def add(self, record: R) -> None:
        self._table.add(record)

    async def save(self, record: R) -> None:
        self._table.save(record)


class FakeCandidates(_FakeByKey[CandidateRecord]):
    def __init__(self, work: _Work) -> None:
        super().__init__(work, "candidates", lambda c: c.subject_id)


class FakePredictions(_FakeByKey[PredictionRecord]):
    def __init__(self, work: _Work) -> None:
        super().__init__(work, "predictions", lambda p: p.subject_id)


class FakePendingDecisions(_FakeByKey[PendingDecisionRecord]):
    def __init__(self, work: _Work) -> None:
        super().__init__(work, "pending_decisions", lambda d: d.screening_id)


class FakeStratumCounters:
    def __init__(self, work: _Work) -> None:
        self._journal = work.journal
        self._table: _Table[StratumCounterRecord] = _Table(work, "counters",
                                                           lambda c: c.stratum_key)

    async def locked(self, stratum_key: str) -> StratumCounterRecord | None:
        self._journal.append("counters.locked")
        return self._table.get(stratum_key)

    async def add(self, counter: StratumCounterRecord) -> None:
        self._table.add(counter)

    async def save(self, counter: StratumCounterRecord) -> None:
        self._table.save(counter)


class FakeStrataVerifications:
    def __init__(self, work: _Work) -> None:
        self._table: _Table[StrataVerificationRecord] = _Table(
            work, "strata_verifications", lambda v: (v.subject_id, v.factor))

    async def of_subject(self, subject_id: str) -> list[StrataVerificationRecord]:
        return [v for v in self._table.all() if v.subject_id == subject_id]

    async def save(self, record: StrataVerificationRecord) -> None:
        if self._table.get((record.subject_id, record.factor)) is None:
            self._table.add(record)
        else:
            self._table.save(record)


class FakeAllocations:
    def __init__(self, work: _Work) -> None:
        self._journal = work.journal
        self._table: _Table[AllocationRecord] = _Table(work, "allocations", lambda a: a.sequence)

    async def of_subject(self, subject_id: str) -> AllocationRecord | None:
        self._journal.append("allocations.of_subject")
        return next((a for a in self._table.all() if a.subject_id == subject_id), None)

    async def of_subjects(self, subject_ids: Collection[str]) -> dict[str, AllocationRecord]:
        self._journal.append("allocations.of_subjects")
        return {a.subject_id: a for a in self._table.all() if a.subject_id in subject_ids}

    async def is_randomized(self, subject_id: str) -> bool:
        return await self.of_subject(subject_id) is not None

    async def in_order(self, site_id: str | None = None) -> list[AllocationRecord]:
        return [a for a in self._table.all() if site_id is None or a.site_id == site_id]

    async def strata_and_arms(self) -> list[tuple[dict[str, str], Arm]]:
        return [(dict(a.stratum), Arm(a.arm)) for a in self._table.all()]

    async def add(self, allocation: AllocationRecord) -> None:
        self._table.add(allocation)

    async def save(self, allocation: AllocationRecord) -> None:
        self._table.save(allocation)


def _merged(committed: dict[str, dict[Any, Any]], work: _Work) -> dict[str, dict[Any, Any]]:
    """The committed state with this unit's writes applied, as a database commits them: a
    record added under a key another unit committed meanwhile is a primary-key clash."""
    if work.conflicts:
        raise CommitConflict(f"UNIQUE constraint failed: {work.conflicts[0]}")
    tables = copy.deepcopy(committed)
    for name, key in work.added:
        if key in tables[name]:
            raise CommitConflict(f"UNIQUE constraint failed: {name} key {key!r}")
    for name, key in work.added | work.saved:
        tables[name][key] = copy.deepcopy(work.tables[name][key])
    _check_unique(tables)
    return tables


def _check_unique(tables: dict[str, dict[Any, Any]]) -> None:
    """The UNIQUE constraints of randomization_allocation and randomization_audit_entry."""
    allocations: list[AllocationRecord] = list(tables["allocations"].values())
    for what, value in (("subject_id", lambda a: a.subject_id),
                        ("randomization_number", lambda a: a.randomization_number),
                        ("stratum slot", lambda a: (a.stratum_key, a.slot_index))):
        values = [value(a) for a in allocations]
        if len(set(values)) != len(values):
            raise CommitConflict(f"UNIQUE constraint failed: allocation {what}")
    hashes = [e.hash for e in tables["audit_entries"].values()]
    if len(set(hashes)) != len(hashes):
        raise CommitConflict("UNIQUE constraint failed: audit entry hash")


class FakeRandomizationUnitOfWork(FakeUnitOfWork):
    """`RandomizationUnitOfWork` in memory, on a `FakeStore` shared by the test's units."""

    protocols: ProtocolFiles[RandomizationProtocol] = PROTOCOL_FILES

    def __init__(self, store: FakeStore | None = None, producer: str = "randomization") -> None:
        super().__init__(producer=producer)
        self.store = store or FakeStore()
        self.rollbacks = 0
        self.journal: list[str] = []
        self._open()

    def _open(self) -> None:
        self._work = _Work(copy.deepcopy(self.store.tables), journal=self.journal)
        self.audit = FakeAuditTrail(self._work)
        self.trials = FakeTrials(self._work)
        self.candidates = FakeCandidates(self._work)
        self.predictions = FakePredictions(self._work)
        self.pending_decisions = FakePendingDecisions(self._work)
        self.counters = FakeStratumCounters(self._work)
        self.allocations = FakeAllocations(self._work)
        self.strata_verifications = FakeStrataVerifications(self._work)
        self.queries = InMemoryDataQueries(self._work.tables["queries"])

    async def commit(self) -> None:
        self.store.tables = _merged(self.store.tables, self._work)
        await super().commit()
        self._open()

    async def rollback(self) -> None:
        await super().rollback()
        self.rollbacks += 1
        self._open()


# ---------------------------------------------------------------------------------------------
# Helpers of the use-case tests
# ---------------------------------------------------------------------------------------------
SITE_USER = Principal(sub="site-user", site_id="S01", roles=frozenset({"site_user"}))
OTHER_SITE = Principal(sub="other-site", site_id="S02", roles=frozenset({"site_user"}))
INVESTIGATOR = Principal(sub="investigator", site_id="S01", roles=frozenset({"investigator"}))
ADMIN = Principal(sub="admin", site_id=None, roles=frozenset({"admin"}))


async def deliver(store: FakeStore, *events: EventEnvelope[Any]) -> None:
    """Apply events with the service's own handlers, one committed unit of work each."""
    for event in events:
        uow = FakeRandomizationUnitOfWork(store)
        await HANDLERS[type(event.payload)](uow, event)
        await uow.commit()


async def make_eligible(store: FakeStore, subject_id: str, site: str = "S01",
                        **facts: Any) -> None:
    screening = screened(subject_id, site, **facts)
    await deliver(store, screening, confirmed(screening), predicted(subject_id, site=site))


async def allocate(store: FakeStore, subject_id: str, actor: Principal = SITE_USER, *,
                   consent: bool = True, maintenance: str | None = "none",
                   ) -> tuple[FakeRandomizationUnitOfWork, RandomizationView]:
    uow = FakeRandomizationUnitOfWork(store)
    view = await allocations.allocate(
        uow, actor, subject_id=subject_id, consent_confirmed=consent,
        planned_maintenance=maintenance, protocol_version="1", timezone="Asia/Seoul")
    return uow, view


async def entries(store: FakeStore) -> list[AuditEntryRecord]:
    return await FakeRandomizationUnitOfWork(store).audit.entries()


def _conforms(uow: FakeRandomizationUnitOfWork) -> RandomizationUnitOfWork:
    return uow  # mypy checks the fake against the protocol the use cases take
