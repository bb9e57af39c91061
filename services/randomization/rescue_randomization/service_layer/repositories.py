"""The storage the use cases need, as protocols in the trial's terms.

`adapters/repositories.py` implements them on SQL (SQLite and PostgreSQL), `tests/fakes.py` in
memory; `tests/integration/test_repository_contract.py` runs the same checks against both.
Records returned are copies: a use case changes one and hands it back with `save` (`add` for a
new one) in the same unit of work.

Concurrency (docs/reliability.md): every writing use case first calls `AuditTrail.lock_head`
(FOR UPDATE on PostgreSQL; SQLite transactions begin IMMEDIATE), which serializes allocations,
refusals, configuration changes, exports and event handling; everything read afterwards is
current. UNIQUE constraints (one allocation per subject, a stratum slot used once, numbers and
sequences unique) are the last line of defence: a commit that breaks one raises
`CommitConflict`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from rescue_randomization.domain.arms import Arm
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


class AuditTrail(Protocol):
    async def lock_head(self) -> AuditHeadRecord:
        """The chain head, locked for this unit of work: call it first in every writer."""

    async def append(self, head: AuditHeadRecord, entry: AuditEntryRecord) -> None:
        """Store `entry` and the moved-on `head` (locked by this unit of work)."""

    async def head(self) -> AuditHeadRecord | None:
        """The chain head as it is, without a lock (readers)."""

    async def entries(self, *, after: int = -1, limit: int | None = None,
                      subject_id: str | None = None,
                      entry_type: str | None = None) -> list[AuditEntryRecord]:
        """Entries with a sequence greater than `after`, in chain order, filtered."""

    async def chain(self) -> tuple[str | None, list[AuditEntryRecord]]:
        """The head hash and every entry, read consistently (appends wait for the read)."""


class Trials(Protocol):
    async def get(self) -> TrialRecord | None:
        """The trial's set-up (None before first use), as committed now."""

    async def add(self, trial: TrialRecord) -> None: ...

    async def save(self, trial: TrialRecord) -> None: ...


class Candidates(Protocol):
    async def get(self, subject_id: str) -> CandidateRecord | None: ...

    async def get_many(self, subject_ids: Collection[str]) -> dict[str, CandidateRecord]: ...

    async def add(self, candidate: CandidateRecord) -> None: ...

    async def save(self, candidate: CandidateRecord) -> None: ...


class Predictions(Protocol):
    async def get(self, subject_id: str) -> PredictionRecord | None: ...

    async def get_many(self, subject_ids: Collection[str]) -> dict[str, PredictionRecord]: ...

    async def add(self, prediction: PredictionRecord) -> None: ...

    async def save(self, prediction: PredictionRecord) -> None: ...


class PendingDecisions(Protocol):
    """Eligibility decisions parked until their screening is the subject's latest."""

    async def get(self, screening_id: str) -> PendingDecisionRecord | None: ...

    async def add(self, decision: PendingDecisionRecord) -> None: ...

    async def save(self, decision: PendingDecisionRecord) -> None: ...


class StratumCounters(Protocol):
    async def locked(self, stratum_key: str) -> StratumCounterRecord | None:
        """The stratum's counter, locked for this unit of work (None before its first use)."""

    async def add(self, counter: StratumCounterRecord) -> None: ...

    async def save(self, counter: StratumCounterRecord) -> None: ...


class Allocations(Protocol):
    async def of_subject(self, subject_id: str) -> AllocationRecord | None: ...

    async def of_subjects(self, subject_ids: Collection[str]) -> dict[str, AllocationRecord]: ...

    async def is_randomized(self, subject_id: str) -> bool: ...

    async def in_order(self, site_id: str | None = None) -> list[AllocationRecord]:
        """Every allocation (of one site, when given) in trial sequence order."""

    async def strata_and_arms(self) -> list[tuple[dict[str, str], Arm]]:
        """Each allocation's stratum levels and arm (what minimization weighs)."""

    async def add(self, allocation: AllocationRecord) -> None: ...

    async def save(self, allocation: AllocationRecord) -> None: ...


class StrataVerifications(Protocol):
    async def of_subject(self, subject_id: str) -> list[StrataVerificationRecord]:
        """The latest verification of each verified factor, by factor name."""

    async def save(self, record: StrataVerificationRecord) -> None:
        """Store the verification of (subject, factor), replacing an earlier one."""


class ProtocolSource(Protocol):
    def load(self, version: str) -> RandomizationProtocol:
        """The protocol file of `version` (ProtocolFileError when missing or invalid)."""
