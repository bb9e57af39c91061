"""Prediction service tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from rescue_shared.db.platform_tables import utc_column, utcnow


class PredictionSubject(SQLModel, table=True):
    """A subject known from eligibility screenings, with the facts the scores need."""

    __tablename__ = "prediction_subject"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100, index=True)
    latest_screening_id: str = Field(max_length=36)
    latest_screening_outcome: str = Field(max_length=20)
    clinical_facts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    screenings_seen: int = 0
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
