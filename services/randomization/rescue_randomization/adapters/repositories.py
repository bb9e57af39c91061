"""SQL implementations of the repository protocols (`service_layer/repositories.py`).

Rows are copied into the domain's records and back (same field names as the columns); a
repository remembers the rows it read or added in its unit of work, so `save` changes that row.
Reads the use cases decide on re-read the row from the database (`populate_existing`), so what
they see after locking the audit head is current. Locks: the audit head and a stratum counter are
read FOR UPDATE (PostgreSQL; a SQLite transaction holds the write lock from BEGIN IMMEDIATE), the
audit verification reads the head FOR SHARE (docs/reliability.md).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_randomization.adapters.tables import (
    Allocation,
    AuditEntry,
    AuditHead,
    PendingDecision,
    RandomizationCandidate,
    StrataVerification,
    StratumCounter,
    SubjectPrediction,
    Trial,
)
from rescue_randomization.domain.arms import Arm
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

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
T = TypeVar("T", bound=SQLModel)

#: Each record type and the table that stores it (field names = column names).
TABLE_OF: dict[type[Any], type[SQLModel]] = {
    CandidateRecord: RandomizationCandidate, PendingDecisionRecord: PendingDecision,
    PredictionRecord: SubjectPrediction, TrialRecord: Trial,
    StratumCounterRecord: StratumCounter, AllocationRecord: Allocation,
    AuditHeadRecord: AuditHead, AuditEntryRecord: AuditEntry,
    StrataVerificationRecord: StrataVerification,
}


def _copy(value: Any) -> Any:
    """JSON values are copied: a record never shares a mutable value with its row."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


class _Rows(Generic[R, T]):
    """Copies between the rows of one table and their records, within one session."""

    def __init__(self, session: AsyncSession, table: type[T], record: type[R], key: str) -> None:
        self._session = session
        self._table = table
        self._record_type = record
        self._key = key
        self._names = [f.name for f in dataclasses.fields(record)]
        self._rows: dict[Any, T] = {}

    def record(self, row: T) -> R:
        self._rows[getattr(row, self._key)] = row
        return self._record_type(**{name: _copy(getattr(row, name)) for name in self._names})

    def add(self, record: R) -> None:
        row = self._table(**{name: _copy(getattr(record, name)) for name in self._names})
        self._session.add(row)
        self._rows[getattr(row, self._key)] = row

    async def save(self, record: R) -> None:
        key = getattr(record, self._key)
        row = self._rows.get(key)
        if row is None:
            row = await self._session.get(self._table, key)
        if row is None:
            raise LookupError(f"no {self._table.__name__} {key!r} to save (add it first)")
        for name in self._names:
            value = getattr(record, name)
            if getattr(row, name) != value:
                setattr(row, name, _copy(value))
        self._session.add(row)


class SqlAuditTrail:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._heads = _Rows(session, AuditHead, AuditHeadRecord, "id")
        self._entries = _Rows(session, AuditEntry, AuditEntryRecord, "sequence")

    async def lock_head(self) -> AuditHeadRecord:
        """The head row FOR UPDATE (SQLite writers are serialized by BEGIN IMMEDIATE already)."""
        head = (await self._session.exec(
            select(AuditHead).where(AuditHead.id == 1).with_for_update()
            .execution_options(populate_existing=True))).one()
        return self._heads.record(head)

    async def append(self, head: AuditHeadRecord, entry: AuditEntryRecord) -> None:
        self._entries.add(entry)
        await self._heads.save(head)

    async def head(self) -> AuditHeadRecord | None:
        row = await self._session.get(AuditHead, 1)
        return self._heads.record(row) if row else None

    async def entries(self, *, after: int = -1, limit: int | None = None,
                      subject_id: str | None = None,
                      entry_type: str | None = None) -> list[AuditEntryRecord]:
        query = (select(AuditEntry).where(AuditEntry.sequence > after)
                 .order_by(col(AuditEntry.sequence)).limit(limit))
        if subject_id is not None:
            query = query.where(AuditEntry.subject_id == subject_id)
        if entry_type is not None:
            query = query.where(AuditEntry.entry_type == entry_type)
        return [self._entries.record(e) for e in (await self._session.exec(query)).all()]

    async def chain(self) -> tuple[str | None, list[AuditEntryRecord]]:
        """The head is read FOR SHARE: appends wait until the entries are read, so an append
        committed between the two reads cannot look like a truncated chain (PostgreSQL takes a
        new snapshot per statement)."""
        head = (await self._session.exec(
            select(AuditHead).where(AuditHead.id == 1).with_for_update(read=True)
            .execution_options(populate_existing=True))).first()
        entries = await self.entries()
        return (head.hash if head else None), entries


class SqlTrials:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows = _Rows(session, Trial, TrialRecord, "id")

    async def get(self) -> TrialRecord | None:
        trial = (await self._session.exec(select(Trial).where(Trial.id == 1)
                                          .execution_options(populate_existing=True))).first()
        return self._rows.record(trial) if trial else None

    async def add(self, trial: TrialRecord) -> None:
        self._rows.add(trial)

    async def save(self, trial: TrialRecord) -> None:
        await self._rows.save(trial)


class _ByKey(Generic[R, T]):
    """A repository of records read by primary key."""

    def __init__(self, session: AsyncSession, table: type[T], record: type[R], key: str) -> None:
        self._session = session
        self._table = table
        self._key = key
        self._rows = _Rows(session, table, record, key)

    async def get(self, key: str) -> R | None:
        row = await self._session.get(self._table, key, populate_existing=True)
        return self._rows.record(row) if row else None

    async def get_many(self, keys: Collection[str]) -> dict[str, R]:
        rows = (await self._session.exec(
            select(self._table).where(col(getattr(self._table, self._key)).in_(keys))
            .execution_options(populate_existing=True))).all()
        return {getattr(row, self._key): self._rows.record(row) for row in rows}

    async def add(self, record: R) -> None:
        self._rows.add(record)

    async def save(self, record: R) -> None:
        await self._rows.save(record)


class SqlCandidates(_ByKey[CandidateRecord, RandomizationCandidate]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, RandomizationCandidate, CandidateRecord, "subject_id")


class SqlPredictions(_ByKey[PredictionRecord, SubjectPrediction]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, SubjectPrediction, PredictionRecord, "subject_id")


class SqlPendingDecisions(_ByKey[PendingDecisionRecord, PendingDecision]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, PendingDecision, PendingDecisionRecord, "screening_id")


class SqlStratumCounters:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows = _Rows(session, StratumCounter, StratumCounterRecord, "stratum_key")

    async def locked(self, stratum_key: str) -> StratumCounterRecord | None:
        # No autoflush: the caller keeps the counters it locked (a new one is not read back),
        # so the rows it has added need not reach the database before this read.
        counter = (await self._session.exec(
            select(StratumCounter).where(StratumCounter.stratum_key == stratum_key)
            .with_for_update()
            .execution_options(populate_existing=True, autoflush=False))).first()
        return self._rows.record(counter) if counter else None

    async def add(self, counter: StratumCounterRecord) -> None:
        self._rows.add(counter)

    async def save(self, counter: StratumCounterRecord) -> None:
        await self._rows.save(counter)


class SqlAllocations:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows = _Rows(session, Allocation, AllocationRecord, "sequence")

    async def of_subject(self, subject_id: str) -> AllocationRecord | None:
        allocation = (await self._session.exec(
            select(Allocation).where(Allocation.subject_id == subject_id)
            .execution_options(populate_existing=True))).first()
        return self._rows.record(allocation) if allocation else None

    async def of_subjects(self, subject_ids: Collection[str]) -> dict[str, AllocationRecord]:
        rows = (await self._session.exec(
            select(Allocation).where(col(Allocation.subject_id).in_(subject_ids))
            .execution_options(populate_existing=True))).all()
        return {row.subject_id: self._rows.record(row) for row in rows}

    async def is_randomized(self, subject_id: str) -> bool:
        found = (await self._session.exec(
            select(Allocation.sequence).where(Allocation.subject_id == subject_id))).first()
        return found is not None

    async def in_order(self, site_id: str | None = None) -> list[AllocationRecord]:
        query = select(Allocation).order_by(col(Allocation.sequence))
        if site_id is not None:
            query = query.where(Allocation.site_id == site_id)
        return [self._rows.record(a) for a in (await self._session.exec(query)).all()]

    async def strata_and_arms(self) -> list[tuple[dict[str, str], Arm]]:
        rows = (await self._session.exec(select(Allocation.stratum, Allocation.arm))).all()
        return [(dict(stratum), Arm(arm)) for stratum, arm in rows]

    async def add(self, allocation: AllocationRecord) -> None:
        self._rows.add(allocation)

    async def save(self, allocation: AllocationRecord) -> None:
        await self._rows.save(allocation)


class SqlStrataVerifications:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._names = [f.name for f in dataclasses.fields(StrataVerificationRecord)]

    async def of_subject(self, subject_id: str) -> list[StrataVerificationRecord]:
        rows = (await self._session.exec(
            select(StrataVerification).where(StrataVerification.subject_id == subject_id)
            .order_by(col(StrataVerification.factor))
            .execution_options(populate_existing=True))).all()
        return [StrataVerificationRecord(**{n: getattr(r, n) for n in self._names})
                for r in rows]

    async def save(self, record: StrataVerificationRecord) -> None:
        # Callers hold the audit-head lock, so no other writer races on (subject, factor).
        row = await self._session.get(StrataVerification, (record.subject_id, record.factor))
        if row is None:
            row = StrataVerification(**{n: getattr(record, n) for n in self._names})
        else:
            for name in self._names:
                setattr(row, name, getattr(record, name))
        self._session.add(row)
