"""What the use cases need from storage, in the trial's terms (one Protocol per repository).

`adapters/repositories.py` implements them on SQL, `tests/prediction_fakes.py` in memory; the
contract test (`tests/integration/test_repository_contract.py`) runs the same checks on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rescue_prediction.domain.model import (
    Ca125Correction,
    PredictionVersion,
    QuarantinedInput,
    ReceivedOfficialKelim,
    StoredCa125,
    Subject,
)


class SubjectRepository(Protocol):
    async def get(self, subject_id: str) -> Subject | None:
        """The subject, for reading."""
        ...

    async def lock(self, subject_id: str) -> Subject | None:
        """The subject, locked for a write (None when unknown)."""
        ...

    async def lock_or_create(self, subject_id: str, site_id: str) -> Subject:
        """The subject, locked for a write; created for `site_id` when unknown (two first writes
        at once cannot collide: one inserts, both then read her locked)."""
        ...

    async def save(self, subject: Subject) -> None:
        """Store the subject's changed facts."""
        ...


class Ca125Repository(Protocol):
    async def series(self, subject_id: str) -> list[StoredCa125]:
        """Her values, by date (one per day)."""
        ...

    async def add(self, value: StoredCa125) -> None: ...

    async def replace(self, value: StoredCa125) -> None:
        """The stored value of `value`'s day takes `value`'s figures (a correction)."""
        ...

    async def remove_all(self, subject_id: str) -> None: ...


class CorrectionRepository(Protocol):
    async def of_subject(self, subject_id: str) -> list[Ca125Correction]:
        """Her corrections, oldest first."""
        ...

    async def add(self, correction: Ca125Correction) -> None: ...

    async def remove_all(self, subject_id: str) -> None: ...


class OfficialKelimRepository(Protocol):
    async def latest(self, subject_id: str) -> ReceivedOfficialKelim | None:
        """The official KELIM received last (the one that counts)."""
        ...

    async def of_subject(self, subject_id: str) -> list[ReceivedOfficialKelim]:
        """Every official KELIM received for her, oldest first."""
        ...

    async def add(self, kelim: ReceivedOfficialKelim) -> None: ...

    async def remove_all(self, subject_id: str) -> None: ...


class PredictionRepository(Protocol):
    async def in_force(self, subject_id: str) -> PredictionVersion | None:
        """The highest version, or None."""
        ...

    async def versions(self, subject_id: str) -> list[PredictionVersion]:
        """Every version, oldest first."""
        ...

    async def add(self, version: PredictionVersion) -> None: ...


class QuarantineRepository(Protocol):
    async def add_all(self, items: Sequence[QuarantinedInput]) -> None: ...

    async def items(self, subject_id: str | None = None) -> list[QuarantinedInput]:
        """Every quarantined item (of one subject, when given), oldest first, with its id."""
        ...
