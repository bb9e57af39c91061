"""What the randomization service records, in the trial's terms (no storage here).

Each record has exactly the columns of its table in `adapters/tables.py` (a unit test keeps the
two in step); the SQL repositories copy rows into records and back, the in-memory fakes keep
records as they are. Records are mutable: a use case changes one and saves it through its
repository in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(kw_only=True)
class CandidateRecord:
    """What randomization has learned about a subject from the eligibility events.

    `eligibility_status` is the final eligibility of her latest screening: `pending`,
    `ineligible` (failed at screening), `confirmed` or `rejected` (after the prediction).
    """

    subject_id: str
    site_id: str
    latest_screening_id: str
    screening_outcome: str
    first_seen_at: datetime
    awaiting_prediction: bool = False
    screenings_seen: int = 0
    screening_date: date | None = None
    protocol_version: str | None = None
    clinical_facts: dict[str, Any] | None = None
    failed_criteria: list[str] | None = None
    missing_facts: list[str] | None = None
    eligibility_status: str = "pending"
    eligibility_reason: str | None = None
    eligibility_decided_at: datetime | None = None
    latest_screening_at: datetime | None = None


@dataclass(kw_only=True)
class PendingDecisionRecord:
    """An eligibility decision about a screening that is not (yet) the subject's latest one."""

    screening_id: str
    subject_id: str
    site_id: str
    decision: str  # confirmed | rejected
    event_type: str
    event_id: str
    producer: str
    occurred_at: datetime
    parked_at: datetime
    reason: str | None = None
    failed_criteria: list[str] | None = None
    applied_at: datetime | None = None


@dataclass(kw_only=True)
class PredictionRecord:
    """The latest complete-resection prediction of a subject (highest version wins)."""

    subject_id: str
    site_id: str
    prediction_id: str
    version: int
    classification: str
    received_at: datetime


@dataclass(kw_only=True)
class TrialRecord:
    """The trial's randomization set-up: configuration and secret seed (one record, id 1)."""

    protocol_version: str
    number_prefix: str
    config: dict[str, Any]
    seed_hex: str
    seed_sha256: str
    set_up_at: datetime
    set_up_by: str
    configured_at: datetime
    id: int = 1
    allocations: int = 0
    locked_at: datetime | None = None
    locked_by: str | None = None


@dataclass(kw_only=True)
class StratumCounterRecord:
    """Per stratum: the next unused slot of its allocation list and the counts by arm."""

    stratum_key: str
    levels: dict[str, str]
    next_slot: int = 0
    scs_chemo: int = 0
    chemo: int = 0


@dataclass(kw_only=True)
class AllocationRecord:
    """One allocation; never deleted, never reused. Invalidation only marks it."""

    sequence: int
    randomization_number: str
    subject_id: str
    site_id: str
    stratum_key: str
    stratum: dict[str, str]
    slot_index: int
    arm: str
    scheme: str
    protocol_version: str
    details: dict[str, Any]
    consent_confirmed: bool
    allocated_at: datetime
    randomization_date: date
    allocated_by: str
    planned_maintenance: str | None = None
    invalidated_at: datetime | None = None
    invalidated_by: str | None = None
    invalidation_reason: str | None = None


@dataclass(kw_only=True)
class AuditHeadRecord:
    """The audit chain's head: entry count and last hash."""

    hash: str
    id: int = 1
    entries: int = 0


@dataclass(kw_only=True)
class AuditEntryRecord:
    """One append-only audit entry; its hash covers every field but `hash`, and the previous
    hash."""

    sequence: int
    entry_type: str
    actor: str
    actor_roles: list[str]
    recorded_at: datetime
    details: dict[str, Any]
    hash: str
    site_id: str | None = None
    subject_id: str | None = None


@dataclass(kw_only=True)
class StrataVerificationRecord:
    """A stratification factor of an allocation as verified against source data (the latest
    verification of that factor; earlier ones are in the audit trail). The allocation and its
    stratum as randomized are never changed by it."""

    subject_id: str
    factor: str
    randomized_level: str
    verified_level: str
    reason: str
    verified_by: str
    verified_at: datetime
