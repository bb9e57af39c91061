"""What the follow-up use cases need from storage, in the trial's terms (one Protocol per
repository). `adapters/repositories.py` implements them on SQL, `tests/followup_fakes.py` in
memory; `tests/integration/test_repository_contract.py` holds both to the same checks.

Every read returns plain domain objects (`domain/model.py`), detached from any transaction: a
change is stored only through `add` / `save`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rescue_followup.domain.data_cuts import CutFile, DataCut
from rescue_followup.domain.model import (
    EligibilityDecision,
    ParkedInvalidation,
    PlannedVisit,
    Prediction,
    Record,
    Screening,
    Subject,
)
from rescue_followup.domain.protocol import FollowupProtocol


class Subjects(Protocol):
    """Randomized subjects in follow-up, keyed by subject id."""

    async def get(self, subject_id: str, *, lock: bool = False) -> Subject | None:
        """The subject; `lock` serializes writers of one subject until the commit (FOR UPDATE on
        PostgreSQL; SQLite transactions are serialized already)."""

    async def with_allocation(self, subject_id: str, randomization_number: str) -> Subject | None:
        """The subject when she is registered with that allocation."""

    async def add(self, subject: Subject) -> None:
        """Register a new subject."""

    async def save(self, subject: Subject) -> None:
        """Store the changes made to a registered subject (invalidation, announcements)."""

    async def all(self, sites: frozenset[str] | None = None) -> list[Subject]:
        """Every registered subject (of these sites when given), in subject id order."""


class Records(Protocol):
    """Follow-up records: added, never changed (a correction is a new record)."""

    async def of_subject(self, subject_id: str) -> list[Record]:
        """Every record of the subject, superseded ones included, in the order they were made
        (creation time, then id)."""

    async def add(self, record: Record) -> None:
        """Store a new record."""

    async def by_subject(self, sites: frozenset[str] | None = None) -> dict[str, list[Record]]:
        """Every record (of these sites' subjects when given), per subject, in the order made."""


class Visits(Protocol):
    """The planned visits, fixed at registration."""

    async def add_schedule(self, visits: Sequence[PlannedVisit]) -> None:
        """Store a new subject's schedule."""

    async def of_subject(self, subject_id: str) -> list[PlannedVisit]:
        """Her visits in number order."""

    async def by_subject(
        self, sites: frozenset[str] | None = None
    ) -> dict[str, list[PlannedVisit]]:
        """The schedules of all registered subjects (of these sites when given), by number."""


class Screenings(Protocol):
    """Every screening eligibility announced (the top of the CONSORT diagram)."""

    async def add(self, screening: Screening) -> None:
        """Record one announced screening."""

    async def all(self, sites: frozenset[str] | None = None) -> list[Screening]:
        """Every screening (of these sites when given), in the order they were announced."""


class EligibilityDecisions(Protocol):
    """Each subject's latest final eligibility decision."""

    async def get(self, subject_id: str) -> EligibilityDecision | None: ...

    async def save(self, decision: EligibilityDecision) -> None:
        """Store the subject's decision (replacing the one kept)."""

    async def all(self, sites: frozenset[str] | None = None) -> list[EligibilityDecision]: ...


class Predictions(Protocol):
    """Each subject's latest complete-resection prediction."""

    async def get(self, subject_id: str) -> Prediction | None: ...

    async def save(self, prediction: Prediction) -> None:
        """Store the subject's prediction (replacing the one kept)."""

    async def all(self, sites: frozenset[str] | None = None) -> list[Prediction]: ...


class ParkedInvalidations(Protocol):
    """Invalidations that arrived before the allocation they name; never deleted."""

    async def get(self, subject_id: str, randomization_number: str,
                  ) -> ParkedInvalidation | None: ...

    async def add(self, parked: ParkedInvalidation) -> None: ...

    async def save(self, parked: ParkedInvalidation) -> None:
        """Store a change (applied_at) to a parked invalidation."""


class ProtocolSource(Protocol):
    def load(self, version: str) -> FollowupProtocol:
        """The protocol file of `version` (ProtocolFileError when missing or invalid)."""


class DataCuts(Protocol):
    async def get(self, name: str) -> DataCut | None: ...

    async def add(self, cut: DataCut, files: Sequence[CutFile]) -> bool:
        """Store the cut and its files unless one has that name; False when it exists."""

    async def all(self) -> list[DataCut]:
        """Every cut, oldest first."""

    async def file(self, name: str, path: str) -> CutFile | None: ...
