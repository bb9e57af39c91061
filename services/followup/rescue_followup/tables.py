"""Follow-up service tables."""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


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
