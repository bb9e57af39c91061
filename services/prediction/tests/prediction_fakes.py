"""In-memory repositories and unit of work of the prediction service (use-case tests).

They honour the same contract as the SQL repositories
(tests/integration/test_repository_contract.py runs the same checks against both).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.model import (
    Ca125Correction,
    PredictionVersion,
    QuarantinedInput,
    ReceivedOfficialKelim,
    StoredCa125,
    Subject,
)
from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_shared.audit.fake import AuditLog, InMemoryAuditTrail
from rescue_shared.fakes import FakeUnitOfWork
from rescue_shared.queries.fake import InMemoryDataQueries


class FakeSubjectRepository:
    def __init__(self) -> None:
        self.rows: dict[str, Subject] = {}

    def _copy(self, subject_id: str) -> Subject | None:
        row = self.rows.get(subject_id)
        return dataclasses.replace(row, clinical_facts=dict(row.clinical_facts)) if row else None

    async def get(self, subject_id: str) -> Subject | None:
        return self._copy(subject_id)

    async def lock(self, subject_id: str) -> Subject | None:
        return self._copy(subject_id)

    async def lock_or_create(self, subject_id: str, site_id: str) -> Subject:
        if subject_id not in self.rows:
            self.rows[subject_id] = Subject(subject_id=subject_id, site_id=site_id,
                                            first_seen_at=datetime.now(UTC))
        subject = self._copy(subject_id)
        assert subject is not None
        return subject

    async def save(self, subject: Subject) -> None:
        if subject.subject_id not in self.rows:
            raise LookupError(f"subject {subject.subject_id} was never stored")
        self.rows[subject.subject_id] = dataclasses.replace(
            subject, clinical_facts=dict(subject.clinical_facts))


class FakeCa125Repository:
    def __init__(self) -> None:
        self.rows: list[StoredCa125] = []

    async def series(self, subject_id: str) -> list[StoredCa125]:
        return sorted((m for m in self.rows if m.subject_id == subject_id),
                      key=lambda m: m.effective_date)

    async def add(self, value: StoredCa125) -> None:
        if any((m.subject_id, m.effective_date) == (value.subject_id, value.effective_date)
               for m in self.rows):
            raise ValueError("one value per subject and day")  # the unique constraint
        self.rows.append(value)

    async def replace(self, value: StoredCa125) -> None:
        for i, m in enumerate(self.rows):
            if (m.subject_id, m.effective_date) == (value.subject_id, value.effective_date):
                self.rows[i] = dataclasses.replace(
                    m, value_u_ml=value.value_u_ml, original_value=value.original_value,
                    original_unit=value.original_unit, loinc=value.loinc,
                    censoring=value.censoring)
                return
        raise LookupError(f"no value of {value.subject_id} on {value.effective_date}")

    async def remove_all(self, subject_id: str) -> None:
        self.rows = [m for m in self.rows if m.subject_id != subject_id]


class FakeCorrectionRepository:
    def __init__(self) -> None:
        self.rows: list[Ca125Correction] = []

    async def of_subject(self, subject_id: str) -> list[Ca125Correction]:
        return [c for c in self.rows if c.subject_id == subject_id]

    async def add(self, correction: Ca125Correction) -> None:
        self.rows.append(correction)

    async def remove_all(self, subject_id: str) -> None:
        self.rows = [c for c in self.rows if c.subject_id != subject_id]


class FakeOfficialKelimRepository:
    def __init__(self) -> None:
        self.rows: list[ReceivedOfficialKelim] = []

    async def latest(self, subject_id: str) -> ReceivedOfficialKelim | None:
        mine = await self.of_subject(subject_id)
        return mine[-1] if mine else None

    async def of_subject(self, subject_id: str) -> list[ReceivedOfficialKelim]:
        return [k for k in self.rows if k.subject_id == subject_id]

    async def add(self, kelim: ReceivedOfficialKelim) -> None:
        self.rows.append(kelim)

    async def remove_all(self, subject_id: str) -> None:
        self.rows = [k for k in self.rows if k.subject_id != subject_id]


class FakePredictionRepository:
    def __init__(self) -> None:
        self.rows: list[PredictionVersion] = []

    async def in_force(self, subject_id: str) -> PredictionVersion | None:
        mine = await self.versions(subject_id)
        return mine[-1] if mine else None

    async def versions(self, subject_id: str) -> list[PredictionVersion]:
        return sorted((v for v in self.rows if v.subject_id == subject_id),
                      key=lambda v: v.version)

    async def add(self, version: PredictionVersion) -> None:
        if any((v.subject_id, v.version) == (version.subject_id, version.version)
               for v in self.rows):
            raise ValueError("one prediction per subject and version")  # the unique constraint
        self.rows.append(version)


class FakeQuarantineRepository:
    def __init__(self) -> None:
        self.rows: list[QuarantinedInput] = []

    async def add_all(self, items: Sequence[QuarantinedInput]) -> None:
        self.rows += [dataclasses.replace(item, id=len(self.rows) + i + 1)
                      for i, item in enumerate(items)]

    async def items(self, subject_id: str | None = None) -> list[QuarantinedInput]:
        return [q for q in self.rows if subject_id is None or q.subject_id == subject_id]


class FakePredictionUnitOfWork(FakeUnitOfWork):
    """The prediction service's unit of work in memory; what a use case stored stays visible to
    the next one (as a committed database would), emitted events in `committed`."""

    def __init__(self, protocol_version: str = "1") -> None:
        super().__init__(producer="prediction")
        self.subjects = FakeSubjectRepository()
        self.ca125 = FakeCa125Repository()
        self.corrections = FakeCorrectionRepository()
        self.official_kelims = FakeOfficialKelimRepository()
        self.predictions = FakePredictionRepository()
        self.quarantine = FakeQuarantineRepository()
        self.queries = InMemoryDataQueries()
        self._protocol = load_protocol(protocol_version)
        self.audit_log = AuditLog()
        self.audit = InMemoryAuditTrail(lambda: self.audit_log)

    async def commit(self) -> None:
        self.audit.append_staged()
        await super().commit()

    async def rollback(self) -> None:
        await super().rollback()
        self.audit.discard()

    @property
    def protocol(self) -> PredictionProtocol:
        return self._protocol
