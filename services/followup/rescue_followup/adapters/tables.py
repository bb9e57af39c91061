"""Follow-up service tables.

What other services announced (screenings, eligibility decisions, predictions, allocations) is kept
for the CONSORT flow; subjects, their visit schedule and their assessments are follow-up's own.
Assessments are never updated or deleted: a correction is a new row that supersedes an older one.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from rescue_shared.db.platform_tables import utc_column, utcnow


class ScreeningRecord(SQLModel, table=True):
    """One screening announced by eligibility: the top of the CONSORT diagram."""

    __tablename__ = "followup_screening_record"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36)
    screening_id: str = Field(max_length=36)
    subject_id: str = Field(max_length=100, index=True)
    site_id: str = Field(max_length=100)
    screening_date: date
    outcome: str = Field(max_length=20)
    failed_criteria: list[str] | None = Field(default=None,
                                              sa_column=Column(JSON, nullable=True))
    occurred_at: datetime | None = Field(
        default=None, sa_column=utc_column(nullable=True),
        description="When eligibility screened her: a subject's latest screening is the one "
                    "that occurred last, whatever order the events arrived in.")


class EligibilityDecision(SQLModel, table=True):
    """A subject's latest final eligibility decision (eligibility.confirmed / .rejected).

    Latest = the decision that occurred last (`decided_at`, the event's occurred_at), in
    whatever order the events arrive: eligibility decides only a subject's latest screening, so
    a decision about an older screening always occurred before one about a newer screening.
    """

    __tablename__ = "followup_eligibility_decision"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100)
    screening_id: str = Field(max_length=36)
    decision: str = Field(max_length=20, description="confirmed | rejected")
    failed_criteria: list[str] = Field(default_factory=list,
                                       sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, max_length=2000)
    event_id: str = Field(max_length=36)
    decided_at: datetime = Field(sa_column=utc_column())


class PredictionRecord(SQLModel, table=True):
    """A subject's latest complete-resection prediction (highest version wins)."""

    __tablename__ = "followup_prediction"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100)
    prediction_id: str = Field(max_length=36)
    version: int
    classification: str = Field(max_length=40)


class FollowupSubject(SQLModel, table=True):
    """A randomized subject in follow-up (from randomization.assigned)."""

    __tablename__ = "followup_subject"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100, index=True)
    randomization_number: str = Field(max_length=100)
    arm: str = Field(max_length=20)
    stratum: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))
    randomization_date: date
    scheme: str = Field(max_length=200)
    protocol_version: str = Field(max_length=20)
    assigned_event_id: str = Field(max_length=36)
    registered_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    invalidated: bool = False
    invalidated_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    invalidation_reason: str | None = Field(default=None, max_length=2000)
    # What followup.progression_recorded last announced (None: nothing, or retracted since).
    announced_event_date: date | None = None
    announced_event_kind: str | None = Field(default=None, max_length=40)
    # What followup.subject_withdrawn last announced.
    announced_withdrawal_date: date | None = None
    announced_withdrawal_reason: str | None = Field(default=None, max_length=2000)
    # The stratum as verified (randomization.strata_verified); the randomized one never changes.
    verified_stratum: dict[str, str] | None = Field(default=None,
                                                    sa_column=Column(JSON, nullable=True))
    strata_verified_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Visit(SQLModel, table=True):
    """One planned tumour assessment, fixed at registration from the protocol version."""

    __tablename__ = "followup_visit"
    __table_args__ = (UniqueConstraint("subject_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=100, index=True)
    number: int
    month: int
    target_date: date
    window_start: date
    window_end: date


class Assessment(SQLModel, table=True):
    """One follow-up record (RECIST, CA-125, death, withdrawal, lost to follow-up, surgery).

    `assessment_date` is the record's clinical date (the last contact date for lost to
    follow-up); `data` holds the type's own fields as posted. A correction names the row it
    supersedes and why.
    """

    __tablename__ = "followup_assessment"

    id: str = Field(primary_key=True, max_length=36)
    subject_id: str = Field(max_length=100, index=True)
    site_id: str = Field(max_length=100)
    type: str = Field(max_length=30)
    assessment_date: date
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    supersedes_id: str | None = Field(default=None, max_length=36, unique=True)
    correction_reason: str | None = Field(default=None, max_length=2000)
    recorded_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PendingInvalidation(SQLModel, table=True):
    """A `randomization.invalidated` that arrived before the allocation it invalidates.

    Parked, keyed by subject and randomization number, and applied when her
    `randomization.assigned` arrives (`applied_at`); never dropped, never deleted.
    """

    __tablename__ = "followup_pending_invalidation"

    subject_id: str = Field(primary_key=True, max_length=100)
    randomization_number: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100)
    reason: str = Field(max_length=2000)
    invalidated_by: str = Field(max_length=200)
    invalidated_at: datetime = Field(sa_column=utc_column())
    event_id: str = Field(max_length=36)
    parked_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    applied_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class DataCutRow(SQLModel, table=True):
    """A frozen data cut: what was known at its cut-off, under a name, never changed."""

    __tablename__ = "followup_data_cut"

    name: str = Field(primary_key=True, max_length=64)
    cutoff: date
    created_at: datetime = Field(sa_column=utc_column())
    created_by: str = Field(max_length=200)
    reason: str = Field(max_length=500)
    digest: str = Field(max_length=64)


class DataCutFile(SQLModel, table=True):
    """One file of a data cut (a dataset, Define-XML, an analysis or a figure), kept as bytes."""

    __tablename__ = "followup_data_cut_file"

    cut_name: str = Field(primary_key=True, max_length=64, foreign_key="followup_data_cut.name")
    path: str = Field(primary_key=True, max_length=100)
    media_type: str = Field(max_length=100)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
