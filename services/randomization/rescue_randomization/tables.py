"""Randomization service tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from rescue_shared.db.platform_tables import utc_column, utcnow


class RandomizationCandidate(SQLModel, table=True):
    """What randomization has learned about a subject from other services' events."""

    __tablename__ = "randomization_candidate"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100, index=True)
    latest_screening_id: str = Field(max_length=36)
    screening_outcome: str = Field(max_length=20)
    awaiting_prediction: bool = False
    screenings_seen: int = 0
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
