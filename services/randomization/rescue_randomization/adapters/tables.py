"""Randomization service tables.

Allocation state (trial, strata counters, allocations) and the audit chain are written only in
transactions that first lock the audit head row (`AuditHead`), so allocations, refusals,
configuration changes and exports are serialized and the chain head is read and written under the
same lock. UNIQUE constraints (subject, stratum slot, number, sequence) are the last line of
defence against double allocation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from rescue_shared.db.platform_tables import utc_column, utcnow


class RandomizationCandidate(SQLModel, table=True):
    """What randomization has learned about a subject from the eligibility events.

    `eligibility_status` is the final eligibility of her latest screening: `pending`,
    `ineligible` (failed at screening), `confirmed` or `rejected` (after the prediction).
    """

    __tablename__ = "randomization_candidate"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100, index=True)
    latest_screening_id: str = Field(max_length=36)
    screening_outcome: str = Field(max_length=20)
    awaiting_prediction: bool = False
    screenings_seen: int = 0
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    screening_date: date | None = None
    protocol_version: str | None = Field(default=None, max_length=20)
    clinical_facts: dict[str, Any] | None = Field(default=None,
                                                  sa_column=Column(JSON, nullable=True))
    failed_criteria: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    missing_facts: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    eligibility_status: str = Field(default="pending", max_length=20)
    eligibility_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    eligibility_decided_at: datetime | None = Field(default=None,
                                                    sa_column=utc_column(nullable=True))
    latest_screening_at: datetime | None = Field(
        default=None, sa_column=utc_column(nullable=True),
        description="occurred_at of her latest screening: an older one arriving later (a "
                    "replay) is counted but does not replace it.")


class PendingDecision(SQLModel, table=True):
    """An eligibility decision about a screening that is not (yet) her latest one.

    A decision may overtake its screening (a replayed `eligibility.screened`, a dead letter sent
    back later): it is parked here, keyed by screening, and applied when that screening arrives
    as her latest. Per screening the most recent decision (occurred_at) is kept. A decision
    about a screening already superseded stays parked for good (it never applies); nothing is
    deleted.
    """

    __tablename__ = "randomization_pending_decision"

    screening_id: str = Field(primary_key=True, max_length=36)
    subject_id: str = Field(max_length=100, index=True)
    site_id: str = Field(max_length=100)
    decision: str = Field(max_length=20, description="confirmed | rejected")
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failed_criteria: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    event_type: str = Field(max_length=60)
    event_id: str = Field(max_length=36)
    producer: str = Field(max_length=100)
    occurred_at: datetime = Field(sa_column=utc_column())
    parked_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    applied_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class SubjectPrediction(SQLModel, table=True):
    """The latest complete-resection prediction of a subject (highest version wins)."""

    __tablename__ = "randomization_prediction"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100)
    prediction_id: str = Field(max_length=36)
    version: int
    classification: str = Field(max_length=40)
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Trial(SQLModel, table=True):
    """The trial's randomization set-up: configuration and secret seed (one row, id 1).

    `seed_hex` never leaves the service except in the seed report after the trial is locked;
    `seed_sha256` is a public commitment to it (recorded in the audit trail at set-up).
    """

    __tablename__ = "randomization_trial"

    id: int = Field(default=1, primary_key=True)
    protocol_version: str = Field(max_length=20)
    number_prefix: str = Field(max_length=20)
    config: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    seed_hex: str = Field(max_length=128)
    seed_sha256: str = Field(max_length=64)
    allocations: int = 0
    set_up_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    set_up_by: str = Field(max_length=200)
    configured_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    locked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    locked_by: str | None = Field(default=None, max_length=200)


class StratumCounter(SQLModel, table=True):
    """Per stratum: the next unused slot of its allocation list and the counts by arm."""

    __tablename__ = "randomization_stratum"

    stratum_key: str = Field(primary_key=True, max_length=400)
    levels: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    next_slot: int = 0
    scs_chemo: int = 0
    chemo: int = 0


class Allocation(SQLModel, table=True):
    """One allocation; never deleted, never reused. Invalidation only marks it."""

    __tablename__ = "randomization_allocation"
    __table_args__ = (
        UniqueConstraint("stratum_key", "slot_index", name="uq_randomization_allocation_slot"),
    )

    sequence: int = Field(primary_key=True, description="Trial-wide, 0-based, no gaps.")
    randomization_number: str = Field(max_length=40, unique=True)
    subject_id: str = Field(max_length=100, unique=True)
    site_id: str = Field(max_length=100, index=True)
    stratum_key: str = Field(max_length=400)
    stratum: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    slot_index: int
    arm: str = Field(max_length=20)
    scheme: str = Field(max_length=40)
    protocol_version: str = Field(max_length=20)
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False),
                                    description="How the arm was decided (never sent to sites).")
    planned_maintenance: str | None = Field(default=None, max_length=50)
    consent_confirmed: bool
    allocated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    randomization_date: date = Field(description="The allocation's date in the trial's time "
                                                 "zone: the PFS start date.")
    allocated_by: str = Field(max_length=200)
    invalidated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    invalidated_by: str | None = Field(default=None, max_length=200)
    invalidation_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class AuditHead(SQLModel, table=True):
    """The chain head (one row, id 1): entry count and last hash. Locked by every writer."""

    __tablename__ = "randomization_audit_head"

    id: int = Field(default=1, primary_key=True)
    entries: int = 0
    hash: str = Field(max_length=64)


class AuditEntry(SQLModel, table=True):
    """Append-only audit entry; its hash covers every column but `hash` and the previous hash."""

    __tablename__ = "randomization_audit_entry"

    sequence: int = Field(primary_key=True, description="0-based position in the chain.")
    entry_type: str = Field(max_length=40)
    actor: str = Field(max_length=200)
    actor_roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site_id: str | None = Field(default=None, max_length=100)
    subject_id: str | None = Field(default=None, max_length=100, index=True)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    hash: str = Field(max_length=64, unique=True)


class StrataVerification(SQLModel, table=True):
    """The latest verified level of one stratification factor of an allocation."""

    __tablename__ = "randomization_strata_verification"

    subject_id: str = Field(primary_key=True, max_length=100)
    factor: str = Field(primary_key=True, max_length=100)
    randomized_level: str = Field(max_length=100)
    verified_level: str = Field(max_length=100)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    verified_by: str = Field(max_length=200)
    verified_at: datetime = Field(sa_column=utc_column())
