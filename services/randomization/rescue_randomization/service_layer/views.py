"""What the randomization use cases answer: the read models the HTTP API returns as they are.

Kept apart from the records (`domain/records.py`): a view never shows the seed, nor how an arm
was decided.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from rescue_randomization.domain.records import AllocationRecord
from rescue_shared.contracts.events import Arm, ResectionClassification


class UnmetCondition(BaseModel):
    condition: str = Field(description="screened, eligibility_confirmed, "
                                       "prediction_highly_likely_complete_resection, "
                                       "strata_facts")
    detail: str


class Candidate(BaseModel):
    """What randomization knows about a subject, and whether she can be randomized now."""

    subject_id: str
    site_id: str
    latest_screening_id: str
    screening_outcome: str
    awaiting_prediction: bool
    screenings_seen: int
    first_seen_at: datetime
    eligibility_status: Literal["pending", "ineligible", "confirmed", "rejected"]
    prediction_classification: ResectionClassification | None
    prediction_version: int | None
    platinum_free_interval_months: float | None
    randomized: bool
    randomizable: bool
    unmet_conditions: list[UnmetCondition]


class Invalidation(BaseModel):
    invalidated_by: str
    invalidated_at: datetime
    reason: str


class RandomizationView(BaseModel):
    subject_id: str
    site_id: str
    randomization_number: str
    arm: Arm
    stratum: dict[str, str]
    allocated_at: datetime
    randomization_date: date
    scheme: str
    protocol_version: str
    allocated_by: str
    status: Literal["valid", "invalidated"]
    invalidation: Invalidation | None = None

    @classmethod
    def of(cls, allocation: AllocationRecord) -> RandomizationView:
        invalidation = None
        if allocation.invalidated_at is not None:
            invalidation = Invalidation(invalidated_by=allocation.invalidated_by or "",
                                        invalidated_at=allocation.invalidated_at,
                                        reason=allocation.invalidation_reason or "")
        return cls(
            subject_id=allocation.subject_id, site_id=allocation.site_id,
            randomization_number=allocation.randomization_number,
            arm=allocation.arm,
            stratum=dict(allocation.stratum), allocated_at=allocation.allocated_at,
            randomization_date=allocation.randomization_date, scheme=allocation.scheme,
            protocol_version=allocation.protocol_version, allocated_by=allocation.allocated_by,
            status="invalidated" if invalidation else "valid", invalidation=invalidation)


class ArmCounts(BaseModel):
    SCS_CHEMO: int = 0
    CHEMO: int = 0
    total: int = 0


class StratumBalance(BaseModel):
    stratum: dict[str, str]
    stratum_key: str
    allocated: ArmCounts = Field(description="Every allocation, invalidated ones included.")
    valid: ArmCounts = Field(description="Allocations not invalidated.")
    imbalance: int = Field(description="SCS_CHEMO - CHEMO over every allocation.")


class Balance(BaseModel):
    scheme: str
    allocated: ArmCounts
    valid: ArmCounts
    invalidated: int
    strata: list[StratumBalance]


class AuditEntryView(BaseModel):
    sequence: int
    type: str
    actor: str
    actor_roles: list[str]
    site_id: str | None
    subject_id: str | None
    recorded_at: datetime
    details: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    entries: list[AuditEntryView]
    total: int
    head_hash: str


class AuditVerification(BaseModel):
    valid: bool
    entries: int
    first_bad_entry: int | None = Field(
        description="0-based sequence of the first entry whose hash no longer matches "
                    "(= entries when only the head is missing: a truncated chain).")


class TrialView(BaseModel):
    trial_id: str
    protocol_version: str
    scheme: str
    configuration: dict[str, Any]
    seed_sha256: str = Field(description="Commitment to the secret seed (not the seed).")
    set_up_at: datetime
    set_up_by: str
    configured_at: datetime
    allocations: int
    locked: bool
    locked_at: datetime | None
    locked_by: str | None


class ReplayedAllocation(BaseModel):
    sequence: int
    randomization_number: str
    subject_id: str
    stratum_key: str
    slot_index: int
    arm: Arm
    replayed_arm: Arm
    invalidated: bool


class StratumList(BaseModel):
    stratum_key: str
    slots_used: int
    generated: list[Arm] = Field(description="The stratum's list from the seed, slots 0..used-1 "
                                             "(permuted blocks only).")


class SeedReport(BaseModel):
    trial_id: str
    protocol_version: str
    configuration: dict[str, Any]
    seed_hex: str
    seed_sha256: str
    set_up_at: datetime
    locked_at: datetime
    allocations: int
    reproduced: bool = Field(description="Every stored arm equals the one the seed gives.")
    mismatches: list[ReplayedAllocation]
    replay: list[ReplayedAllocation]
    strata: list[StratumList]
