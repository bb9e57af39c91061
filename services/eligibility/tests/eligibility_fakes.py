"""In-memory unit of work and repositories of the eligibility service (use-case tests).

A `FakeStore` is the database: every `FakeEligibilityUnitOfWork` opened on it works on a copy and
writes it back on commit, so a rollback (or a unit of work left without commit) undoes everything,
as a transaction would. Reads return copies, so a change counts only once saved. Orders follow
the SQL repositories' (tests/integration/test_repository_contract.py holds both to the same
checks). Importable as `eligibility_fakes`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_eligibility.domain.model import AccessRefusal, Screening, Subject
from rescue_shared.audit.fake import AuditLog, InMemoryAuditTrail
from rescue_shared.fakes import SnapshotUnitOfWork
from rescue_shared.queries.fake import InMemoryDataQueries


@dataclass
class FakeStore:
    screenings: dict[str, Screening] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    refusals: list[AccessRefusal] = field(default_factory=list)
    audit: AuditLog = field(default_factory=AuditLog)


class _Repository:
    def __init__(self, uow: FakeEligibilityUnitOfWork) -> None:
        self._uow = uow

    @property
    def _work(self) -> FakeStore:
        return self._uow.work


def _made(screenings: list[Screening]) -> list[Screening]:
    return [copy.deepcopy(s) for s in sorted(screenings, key=lambda s: (s.created_at, s.id))]


class FakeScreenings(_Repository):
    async def get(self, screening_id: str) -> Screening | None:
        return copy.deepcopy(self._work.screenings.get(screening_id))

    async def add(self, screening: Screening) -> None:
        if screening.id in self._work.screenings:
            raise ValueError(f"screening {screening.id} is recorded already")
        self._work.screenings[screening.id] = copy.deepcopy(screening)

    async def save(self, screening: Screening) -> None:
        if screening.id not in self._work.screenings:
            raise LookupError(f"screening {screening.id} is not recorded")
        self._work.screenings[screening.id] = copy.deepcopy(screening)

    async def of_subject(self, subject_id: str) -> list[Screening]:
        return _made([s for s in self._work.screenings.values() if s.subject_id == subject_id])

    async def all(self, sites: frozenset[str] | None = None) -> list[Screening]:
        return _made([s for s in self._work.screenings.values()
                      if sites is None or s.site_id in sites])


class FakeSubjects(_Repository):
    async def get(self, subject_id: str) -> Subject | None:
        return copy.deepcopy(self._work.subjects.get(subject_id))

    async def claim(self, subject_id: str, site_id: str) -> Subject:
        stored = self._work.subjects.setdefault(
            subject_id, Subject(subject_id=subject_id, site_id=site_id))
        return copy.deepcopy(stored)

    async def save(self, subject: Subject) -> None:
        if subject.subject_id not in self._work.subjects:
            raise LookupError(f"subject {subject.subject_id} is not registered")
        self._work.subjects[subject.subject_id] = copy.deepcopy(subject)

    async def case_twin(self, subject_id: str) -> str | None:
        return next((known for known in sorted(self._work.subjects)
                     if known.lower() == subject_id.lower() and known != subject_id), None)


class FakeAccessRefusals(_Repository):
    async def add(self, refusal: AccessRefusal) -> None:
        stored = copy.deepcopy(refusal)
        stored.id = len(self._work.refusals) + 1
        self._work.refusals.append(stored)

    async def newest(self, *, site_id: str | None = None, subject_id: str | None = None,
                     limit: int = 200) -> list[AccessRefusal]:
        return [copy.deepcopy(r) for r in reversed(self._work.refusals)
                if site_id in (None, r.site_id) and subject_id in (None, r.subject_id)][:limit]


class FakeEligibilityUnitOfWork(SnapshotUnitOfWork[FakeStore]):
    """`service_layer.unit_of_work.EligibilityUnitOfWork` in memory, on `store`."""

    protocols = PROTOCOL_FILES

    def __init__(self, store: FakeStore | None = None, protocol_version: str = "1",
                 **kwargs: Any) -> None:
        super().__init__(store if store is not None else FakeStore(), producer="eligibility",
                         **kwargs)
        self.protocol_version = protocol_version
        self.screenings = FakeScreenings(self)
        self.subjects = FakeSubjects(self)
        self.refusals = FakeAccessRefusals(self)
        self.queries = InMemoryDataQueries()
        self.audit = InMemoryAuditTrail(lambda: self.work.audit)

    async def commit(self) -> None:
        self.audit.append_staged()
        await super().commit()

    async def rollback(self) -> None:
        await super().rollback()
        self.audit.discard()

