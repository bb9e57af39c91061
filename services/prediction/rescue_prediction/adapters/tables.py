"""Prediction service tables (names and columns are read by chaos/stores.py: keep them).

Only `adapters/repositories.py` and the migrations use them; the use cases see `domain.model`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from rescue_shared.db.platform_tables import utc_column, utcnow


class PredictionSubject(SQLModel, table=True):
    """A subject known from eligibility screenings, with the facts the scores need.

    A site may send her CA-125 values before `eligibility.screened` reaches this service: she is
    then *provisional* (no screening yet: `latest_screening_id` is NULL), owned by the site that
    wrote, and her values wait for the screening (see `service_layer.screening.subject_screened`).
    """

    __tablename__ = "prediction_subject"

    subject_id: str = Field(primary_key=True, max_length=100)
    site_id: str = Field(max_length=100, index=True)
    latest_screening_id: str | None = Field(default=None, max_length=36)
    latest_screening_outcome: str | None = Field(default=None, max_length=20)
    clinical_facts: dict[str, Any] = Field(default_factory=dict,
                                           sa_column=Column(JSON, nullable=False))
    screenings_seen: int = 0
    first_seen_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    chemotherapy_start_date: date | None = None
    chemotherapy_start_recorded_by: str | None = Field(default=None, max_length=200)

    @property
    def awaiting_screening(self) -> bool:
        """Known only from a site's values: no screening has arrived yet."""
        return self.latest_screening_id is None


class Ca125Measurement(SQLModel, table=True):
    """One CA-125 value of a subject: normalised to U/mL, with what the site sent."""

    __tablename__ = "prediction_ca125_measurement"
    __table_args__ = (UniqueConstraint("subject_id", "effective_date",
                                       name="uq_prediction_ca125_subject_date"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=100, index=True)
    effective_date: date
    value_u_ml: float
    original_value: float
    original_unit: str = Field(max_length=40)
    loinc: str = Field(max_length=20)
    censoring: str | None = Field(default=None, max_length=40)
    source: str = Field(max_length=10, description="json | fhir")
    fhir_id: str | None = Field(default=None, max_length=100)
    received_by: str = Field(max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Ca125Correction(SQLModel, table=True):
    """A correction of a stored CA-125 value: what it was, what it became, who, when and why.

    The measurement row holds the corrected value; these rows keep every earlier one.
    """

    __tablename__ = "prediction_ca125_correction"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=100, index=True)
    effective_date: date
    previous_value_u_ml: float
    previous_original_value: float
    previous_original_unit: str = Field(max_length=40)
    previous_censoring: str | None = Field(default=None, max_length=40)
    value_u_ml: float
    original_value: float
    original_unit: str = Field(max_length=40)
    censoring: str | None = Field(default=None, max_length=40)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    corrected_by: str = Field(max_length=200)
    corrected_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class ExternalKelim(SQLModel, table=True):
    """A KELIM from the official calculator; the latest received takes precedence."""

    __tablename__ = "prediction_external_kelim"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=100, index=True)
    value: float
    scale: str = Field(max_length=20)
    source: str = Field(max_length=200)
    calculator_version: str = Field(max_length=100)
    computed_on: date | None = None
    received_by: str = Field(max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PredictionRecord(SQLModel, table=True):
    """One version of a subject's complete-resection prediction (never changed once stored)."""

    __tablename__ = "prediction_record"
    __table_args__ = (UniqueConstraint("subject_id", "version",
                                       name="uq_prediction_record_subject_version"),)

    prediction_id: str = Field(primary_key=True, max_length=36)
    subject_id: str = Field(max_length=100, index=True)
    site_id: str = Field(max_length=100)
    version: int
    classification: str = Field(max_length=40)
    kelim_per_day: float | None = None
    kelim_standardized: float | None = None
    kelim_source: str | None = Field(default=None, max_length=40)
    model_version: str = Field(max_length=40)
    protocol_version: str = Field(max_length=40)
    trigger: str = Field(max_length=40)
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class QuarantinedInput(SQLModel, table=True):
    """A value sent for a subject before her screening, by a site other than the screening's.

    Never used in any fit; kept as sent, with who sent it, when, and why it was set aside, for a
    monitor to resolve with the sites.
    """

    __tablename__ = "prediction_quarantined_input"

    id: int | None = Field(default=None, primary_key=True)
    subject_id: str = Field(max_length=100, index=True)
    kind: str = Field(max_length=40, description="ca125 | ca125_correction | kelim_external | "
                                                 "chemotherapy_start_date")
    sent_by_site_id: str = Field(max_length=100)
    screened_at_site_id: str = Field(max_length=100)
    screening_id: str = Field(max_length=36)
    received_by: str | None = Field(default=None, max_length=200)
    received_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    quarantined_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
