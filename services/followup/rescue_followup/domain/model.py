"""What follow-up keeps, in the trial's terms (plain data; the tables are in `adapters/`).

- `Subject`: a randomized subject in follow-up, registered from `randomization.assigned`, with
  what follow-up last announced about her (so that a correction re-announces only a change).
- `Record`: one follow-up record (RECIST, CA-125, death, withdrawal, lost to follow-up, surgery).
  Records are never changed or deleted: a correction is a new record naming the one it
  supersedes.
- `PlannedVisit`: one planned tumour assessment, fixed at registration from her protocol version.
- What other services announced, kept for the CONSORT flow: `Screening` (every one, with when it
  occurred), `EligibilityDecision` (the latest final decision), `Prediction` (the highest
  version), and `ParkedInvalidation` (a `randomization.invalidated` that came before its
  allocation; docs/reliability.md § Events that may arrive out of order).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

RecordType = Literal["recist", "ca125", "death", "withdrawal", "lost_to_followup", "surgery"]
DecisionKind = Literal["confirmed", "rejected"]


@dataclass
class Subject:
    subject_id: str
    site_id: str
    randomization_number: str
    arm: str
    stratum: dict[str, str]
    randomization_date: dt.date
    scheme: str
    protocol_version: str
    assigned_event_id: str
    registered_at: dt.datetime
    invalidated: bool = False
    invalidated_at: dt.datetime | None = None
    invalidation_reason: str | None = None
    # What followup.progression_recorded last announced (None: nothing, or retracted since).
    announced_event_date: dt.date | None = None
    announced_event_kind: str | None = None
    # What followup.subject_withdrawn last announced.
    announced_withdrawal_date: dt.date | None = None
    announced_withdrawal_reason: str | None = None
    # The stratum as verified against source data (randomization.strata_verified), every
    # factor, and when that verification was made; None: never verified.
    verified_stratum: dict[str, str] | None = None
    strata_verified_at: dt.datetime | None = None


@dataclass(frozen=True)
class Record:
    """`assessment_date` is the clinical date (the last contact date for lost to follow-up);
    `data` holds the type's own fields as posted."""

    id: str
    subject_id: str
    site_id: str
    type: str
    assessment_date: dt.date
    data: dict[str, Any]
    recorded_by: str
    created_at: dt.datetime
    supersedes_id: str | None = None
    correction_reason: str | None = None


@dataclass(frozen=True)
class PlannedVisit:
    subject_id: str
    number: int
    month: int
    target_date: dt.date
    window_start: dt.date
    window_end: dt.date


@dataclass(frozen=True)
class Screening:
    event_id: str
    screening_id: str
    subject_id: str
    site_id: str
    screening_date: dt.date
    outcome: str
    failed_criteria: list[str] | None
    occurred_at: dt.datetime | None


@dataclass
class EligibilityDecision:
    """Latest = the decision that occurred last (`decided_at`, the event's occurred_at)."""

    subject_id: str
    site_id: str
    screening_id: str
    decision: str
    event_id: str
    decided_at: dt.datetime
    failed_criteria: list[str] = field(default_factory=list)
    reason: str | None = None


@dataclass
class Prediction:
    subject_id: str
    site_id: str
    prediction_id: str
    version: int
    classification: str


@dataclass
class ParkedInvalidation:
    subject_id: str
    randomization_number: str
    site_id: str
    reason: str
    invalidated_by: str
    invalidated_at: dt.datetime
    event_id: str
    parked_at: dt.datetime
    applied_at: dt.datetime | None = None
