"""In-memory unit of work and repositories of the follow-up service (use-case tests).

A `FakeStore` is the database: every `FakeFollowupUnitOfWork` opened on it works on a copy and
writes it back on commit, so a rollback (or a unit of work left without commit) undoes everything,
as a transaction would. Reads return copies, so a change counts only once saved. Orders follow
the SQL repositories' (tests/integration/test_repository_contract.py holds both to the same
checks). Importable as `followup_fakes`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rescue_followup.adapters.protocol_files import PROTOCOL_FILES
from rescue_followup.domain.model import (
    EligibilityDecision,
    ParkedInvalidation,
    PlannedVisit,
    Prediction,
    Record,
    Screening,
    Subject,
)
from rescue_shared.audit.fake import AuditLog, InMemoryAuditTrail
from rescue_shared.fakes import SnapshotUnitOfWork
from rescue_shared.queries.fake import InMemoryDataQueries
from rescue_shared.queries.lifecycle import DataQuery


@dataclass
class FakeStore:
    subjects: dict[str, Subject] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    visits: list[PlannedVisit] = field(default_factory=list)
    screenings: list[Screening] = field(default_factory=list)
    decisions: dict[str, EligibilityDecision] = field(default_factory=dict)
    predictions: dict[str, Prediction] = field(default_factory=dict)
    parked: dict[tuple[str, str], ParkedInvalidation] = field(default_factory=dict)
    queries: dict[str, DataQuery] = field(default_factory=dict)
    audit: AuditLog = field(default_factory=AuditLog)


class _Repository:
    def __init__(self, uow: FakeFollowupUnitOfWork) -> None:
        self._uow = uow

    @property
    def _work(self) -> FakeStore:
        return self._uow.work


class FakeSubjects(_Repository):
    async def get(self, subject_id: str, *, lock: bool = False) -> Subject | None:
        return copy.deepcopy(self._work.subjects.get(subject_id))

    async def with_allocation(self, subject_id: str, randomization_number: str) -> Subject | None:
        subject = await self.get(subject_id)
        if subject is None or subject.randomization_number != randomization_number:
            return None
        return subject

    async def add(self, subject: Subject) -> None:
        if subject.subject_id in self._work.subjects:
            raise ValueError(f"subject {subject.subject_id} is registered already")
        self._work.subjects[subject.subject_id] = copy.deepcopy(subject)

    async def save(self, subject: Subject) -> None:
        if subject.subject_id not in self._work.subjects:
            raise LookupError(f"subject {subject.subject_id} is not registered")
        self._work.subjects[subject.subject_id] = copy.deepcopy(subject)

    async def all(self, sites: frozenset[str] | None = None) -> list[Subject]:
        return [copy.deepcopy(s) for _, s in sorted(self._work.subjects.items())
                if sites is None or s.site_id in sites]


def _made(records: list[Record]) -> list[Record]:
    return sorted(records, key=lambda r: (r.created_at, r.id))


class FakeRecords(_Repository):
    async def of_subject(self, subject_id: str) -> list[Record]:
        return _made([copy.deepcopy(r) for r in self._work.records if r.subject_id == subject_id])

    async def add(self, record: Record) -> None:
        if record.supersedes_id is not None and any(
                r.supersedes_id == record.supersedes_id for r in self._work.records):
            raise ValueError(f"record {record.supersedes_id} is superseded already")
        self._work.records.append(copy.deepcopy(record))

    async def by_subject(self, sites: frozenset[str] | None = None) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = {}
        for record in _made(self._work.records):
            if sites is None or record.site_id in sites:
                grouped.setdefault(record.subject_id, []).append(copy.deepcopy(record))
        return grouped


class FakeVisits(_Repository):
    async def add_schedule(self, visits: Sequence[PlannedVisit]) -> None:
        self._work.visits.extend(copy.deepcopy(list(visits)))

    async def of_subject(self, subject_id: str) -> list[PlannedVisit]:
        return sorted((v for v in self._work.visits if v.subject_id == subject_id),
                      key=lambda v: v.number)

    async def by_subject(
        self, sites: frozenset[str] | None = None
    ) -> dict[str, list[PlannedVisit]]:
        subjects = self._work.subjects
        grouped: dict[str, list[PlannedVisit]] = {}
        for visit in sorted(self._work.visits, key=lambda v: (v.subject_id, v.number)):
            subject = subjects.get(visit.subject_id)
            if subject is not None and (sites is None or subject.site_id in sites):
                grouped.setdefault(visit.subject_id, []).append(visit)
        return grouped


class FakeScreenings(_Repository):
    async def add(self, screening: Screening) -> None:
        self._work.screenings.append(copy.deepcopy(screening))

    async def all(self, sites: frozenset[str] | None = None) -> list[Screening]:
        return [copy.deepcopy(s) for s in self._work.screenings
                if sites is None or s.site_id in sites]


class FakeEligibilityDecisions(_Repository):
    async def get(self, subject_id: str) -> EligibilityDecision | None:
        return copy.deepcopy(self._work.decisions.get(subject_id))

    async def save(self, decision: EligibilityDecision) -> None:
        self._work.decisions[decision.subject_id] = copy.deepcopy(decision)

    async def all(self, sites: frozenset[str] | None = None) -> list[EligibilityDecision]:
        return [copy.deepcopy(d) for d in self._work.decisions.values()
                if sites is None or d.site_id in sites]


class FakePredictions(_Repository):
    async def get(self, subject_id: str) -> Prediction | None:
        return copy.deepcopy(self._work.predictions.get(subject_id))

    async def save(self, prediction: Prediction) -> None:
        self._work.predictions[prediction.subject_id] = copy.deepcopy(prediction)

    async def all(self, sites: frozenset[str] | None = None) -> list[Prediction]:
        return [copy.deepcopy(p) for p in self._work.predictions.values()
                if sites is None or p.site_id in sites]


class FakeParkedInvalidations(_Repository):
    async def get(self, subject_id: str, randomization_number: str,
                  ) -> ParkedInvalidation | None:
        return copy.deepcopy(self._work.parked.get((subject_id, randomization_number)))

    async def add(self, parked: ParkedInvalidation) -> None:
        key = (parked.subject_id, parked.randomization_number)
        if key in self._work.parked:
            raise ValueError(f"invalidation of {key} is parked already")
        self._work.parked[key] = copy.deepcopy(parked)

    async def save(self, parked: ParkedInvalidation) -> None:
        key = (parked.subject_id, parked.randomization_number)
        if key not in self._work.parked:
            raise LookupError(f"no parked invalidation of {key}")
        self._work.parked[key] = copy.deepcopy(parked)


class FakeQueries(_Repository):
    """Data queries on the unit of work's copy of the store (dropped on rollback)."""

    def _queries(self) -> InMemoryDataQueries:
        return InMemoryDataQueries(self._work.queries)

    async def get(self, query_id: str, *, lock: bool = False) -> DataQuery | None:
        return await self._queries().get(query_id)

    async def add(self, query: DataQuery) -> None:
        await self._queries().add(query)

    async def save(self, query: DataQuery) -> None:
        await self._queries().save(query)

    async def find(self, **filters: Any) -> list[DataQuery]:
        return await self._queries().find(**filters)


class FakeFollowupUnitOfWork(SnapshotUnitOfWork[FakeStore]):
    """`service_layer.unit_of_work.FollowupUnitOfWork` in memory, on `store`."""

    protocols = PROTOCOL_FILES

    def __init__(self, store: FakeStore | None = None, protocol_version: str = "1",
                 **kwargs: Any) -> None:
        super().__init__(store if store is not None else FakeStore(), producer="followup",
                         **kwargs)
        self.protocol_version = protocol_version
        self.rollbacks = 0
        self.subjects = FakeSubjects(self)
        self.records = FakeRecords(self)
        self.visits = FakeVisits(self)
        self.screenings = FakeScreenings(self)
        self.decisions = FakeEligibilityDecisions(self)
        self.predictions = FakePredictions(self)
        self.parked_invalidations = FakeParkedInvalidations(self)
        self.queries = FakeQueries(self)
        self.audit = InMemoryAuditTrail(lambda: self.work.audit)

    async def commit(self) -> None:
        self.audit.append_staged()
        await super().commit()

    async def rollback(self) -> None:
        await super().rollback()
        self.audit.discard()
        self.rollbacks += 1
