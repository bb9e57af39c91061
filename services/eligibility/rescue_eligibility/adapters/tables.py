"""Eligibility service tables (names and columns are read by chaos/stores.py: keep them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, text
from sqlmodel import Field, SQLModel

from rescue_shared.db.platform_tables import utc_column, utcnow


class EligibilityScreening(SQLModel, table=True):
    """One screening of a candidate, judged by one protocol version.

    `result` is the judgement at screening and never changes; `final_result` and
    `final_decision` follow the complete-resection prediction (INC-05).
    """

    __tablename__ = "eligibility_screening"

    id: str = Field(primary_key=True, max_length=36)
    subject_id: str = Field(max_length=100, index=True)
    site_id: str = Field(max_length=100, index=True)
    screening_date: date
    protocol_version: str = Field(max_length=20)
    outcome: str = Field(max_length=20)
    awaiting_prediction: bool
    facts: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False),
                                   description="ScreeningResult")
    screened_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    final_decision: str = Field(default="pending", max_length=20)
    final_result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    prediction_id: str | None = Field(default=None, max_length=36)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class EligibilitySubject(SQLModel, table=True):
    """Per subject: her latest screening and the latest complete-resection prediction."""

    __tablename__ = "eligibility_subject"
    # The case-twin check of every screening looks subjects up by lower(subject_id).
    __table_args__ = (Index("ix_eligibility_subject_folded_id", text("lower(subject_id)")),)

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100)
    latest_screening_id: str | None = Field(default=None, max_length=36)
    prediction_id: str | None = Field(default=None, max_length=36)
    prediction_version: int | None = None
    prediction_classification: str | None = Field(default=None, max_length=40)


class EligibilityAccessRefusal(SQLModel, table=True):
    """A subject id a caller was refused (another site's subject, a reserved or confusable id).

    The caller only learns that the id cannot be used at her site; why is kept here for the
    monitors (`GET /v1/access-refusals`): an attempt on another site's subject may be a typo, or
    someone probing which pseudonyms exist.
    """

    __tablename__ = "eligibility_access_refusal"

    id: int | None = Field(default=None, primary_key=True)
    attempted_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    actor: str = Field(max_length=200)
    actor_roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site_id: str | None = Field(default=None, max_length=100, index=True)
    subject_id: str = Field(max_length=100, index=True)
    action: str = Field(max_length=40, description="What was attempted, e.g. screening.")
    cause: str = Field(max_length=40,
                       description="another_site | reserved | confusable (never told the caller)")
    correlation_id: str | None = Field(default=None, max_length=200)
