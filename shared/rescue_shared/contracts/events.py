"""Typed payloads of every event the platform emits (schema version 1 of each).

Changes inside a version are additive (new optional fields); a breaking change is a new model
registered under the next schema_version, accepted side by side by consumers.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ScreeningOutcome = Literal["eligible", "ineligible", "incomplete"]
ResectionClassification = Literal[
    "highly_likely_complete_resection", "not_highly_likely", "insufficient_data"
]
Arm = Literal["SCS_CHEMO", "CHEMO"]


class Payload(BaseModel):
    """Base of all payloads: immutable; unknown fields are kept so that newer producers' additive
    fields pass through older consumers."""

    model_config = ConfigDict(frozen=True, extra="allow")


class SubjectScreened(Payload):
    """eligibility.screened: a candidate was judged against a protocol version's criteria."""

    screening_id: uuid.UUID
    screening_date: date
    protocol_version: str
    outcome: ScreeningOutcome = Field(
        description="Judgement on every criterion decidable at screening."
    )
    awaiting_prediction: bool = Field(
        description="True when only the complete-resection prediction (INC-05) is outstanding."
    )
    failed_criteria: list[str] = Field(default_factory=list, description="Criterion ids not met.")
    missing_facts: list[str] = Field(default_factory=list, description="Facts needed but absent.")
    clinical_facts: dict[str, Any] = Field(
        default_factory=dict,
        description="The screening facts, for the prediction scores and the strata.",
    )


class EligibilityConfirmed(Payload):
    """eligibility.confirmed: the final decision after the prediction is 'eligible'."""

    screening_id: uuid.UUID
    protocol_version: str
    prediction_id: uuid.UUID | None = None


class EligibilityRejected(Payload):
    """eligibility.rejected: the final decision after the prediction is 'ineligible'."""

    screening_id: uuid.UUID
    protocol_version: str
    failed_criteria: list[str]
    reason: str
    prediction_id: uuid.UUID | None = None


class PredictionCompleted(Payload):
    """prediction.completed: a complete-resection classification was reached (or superseded)."""

    prediction_id: uuid.UUID
    version: int = Field(ge=1, description="Increases per subject; apply only the latest.")
    classification: ResectionClassification
    kelim: float | None = Field(None, description="Elimination rate K (/day) used.")
    kelim_standardized: float | None = Field(None, description="K / K_ref.")
    kelim_source: Literal["local_estimate", "official_calculator"] | None = None
    model_version: str
    protocol_version: str
    reasons: list[str] = Field(default_factory=list)


class RandomizationAssigned(Payload):
    """randomization.assigned: the subject was allocated an arm."""

    randomization_number: str
    arm: Arm
    stratum: dict[str, str]
    randomization_date: date
    scheme: str


class RandomizationInvalidated(Payload):
    """randomization.invalidated: an allocation was marked made in error (never deleted)."""

    randomization_number: str
    reason: str
    invalidated_by: str
    invalidated_at: datetime


class RandomizationStrataVerified(Payload):
    """randomization.strata_verified: a stratification factor was checked against source data.

    The allocation and its stratum as randomized never change; `verified_stratum` is every
    factor as verified so far (the randomized level where a factor was not verified), so the
    latest event by `verified_at` carries the whole verified stratum."""

    randomization_number: str
    factor: str
    randomized_level: str
    verified_level: str
    verified_stratum: dict[str, str]
    reason: str
    verified_by: str
    verified_at: datetime


class ProgressionRecorded(Payload):
    """followup.progression_recorded: a PFS event (progression or death) was derived."""

    event_date: date
    event_kind: Literal["progression_recist", "progression_ca125", "death"]
    randomization_date: date
    pfs_days: int = Field(ge=1)


class SubjectWithdrawn(Payload):
    """followup.subject_withdrawn: the subject left follow-up."""

    withdrawal_date: date
    reason: str


class DataQueryChanged(Payload):
    """A data query was opened, answered, closed or re-opened (one event per step; the service
    that owns the data emits it on its topic as `<service>.query_changed`)."""

    query_id: str
    action: Literal["open", "answer", "close", "reopen"]
    state: Literal["open", "answered", "closed"]
    check: str = Field(description="The automatic check's code, or `manual`.")
    field: str
    record_id: str | None = None
    message: str
    actor: str
    at: datetime
    text: str
    correction_ref: str | None = None


class EligibilityQueryChanged(DataQueryChanged):
    """eligibility.query_changed"""


class PredictionQueryChanged(DataQueryChanged):
    """prediction.query_changed"""


class RandomizationQueryChanged(DataQueryChanged):
    """randomization.query_changed"""


class FollowupQueryChanged(DataQueryChanged):
    """followup.query_changed"""
