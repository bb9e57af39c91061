"""Request and response bodies of the prediction API (kept apart from the tables)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictFloat

from rescue_prediction.domain.gcig import GcigResult
from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.kinetics import KineticsResult
from rescue_prediction.domain.model import SUBJECT_ID_PATTERN
from rescue_prediction.domain.prediction import MeasurementView, PredictionBody
from rescue_prediction.domain.units import (
    MAX_VALUE_U_ML,
    UNIT_FACTORS,
    Comparator,
    check_loinc_for_kinetics,
)
from rescue_prediction.service_layer.calculators import MAX_BATCH_SERIES
from rescue_shared.clock import latest_calendar_date

MAX_POINTS_PER_SERIES = 200
SubjectId = Annotated[str, Field(pattern=SUBJECT_ID_PATTERN, description=(
    "Site pseudonym of the subject, as screened by eligibility."))]
SubjectStatus = Literal["screened", "awaiting_screening"]
AWAITING_SCREENING_NOTE = (
    "Her eligibility screening has not reached the prediction service yet: the values are kept "
    "for your site and used, as if sent after it, as soon as it arrives (then the prediction is "
    "computed and announced). If she was screened at another site, they are set aside for a "
    "monitor instead.")


def _not_in_future(value: date) -> date:
    if value > latest_calendar_date():  # a site's today may be ahead of the server's UTC date
        raise ValueError("date must not be in the future")
    return value


def _accepted_unit(value: str) -> str:
    if value.strip().lower() not in UNIT_FACTORS:
        raise ValueError(f"unit {value!r} not accepted (use U/mL or kU/L)")
    return value


def _accepted_loinc(value: str) -> str:
    check = check_loinc_for_kinetics(value)
    if not check.accepted:
        raise ValueError(f"LOINC {value} not accepted for CA-125 kinetics: {check.reason}")
    return check.code


PastDate = Annotated[date, AfterValidator(_not_in_future)]


class MeasurementIn(BaseModel):
    """One CA-125 result as the site's laboratory reported it."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    date: PastDate = Field(description="Date the blood was drawn (not in the future).")
    value: StrictFloat = Field(gt=0, le=MAX_VALUE_U_ML,
                               description="As reported (> 0, <= 1,000,000).")
    unit: Annotated[str, AfterValidator(_accepted_unit)] = Field(
        description="U/mL or kU/L in any letter case (numerically identical); the original "
                    "string is kept.",
        json_schema_extra={"pattern": r"^\s*([Uu]/[Mm][Ll]|[Kk][Uu]/[Ll])\s*$"})
    comparator: Comparator | None = Field(
        None, description="'<' or '<=' below the detection limit, '>' above the range; such "
                          "values are stored but excluded from the fit.")
    loinc: Annotated[str, AfterValidator(_accepted_loinc)] = Field(
        "10334-1", description="10334-1 (default) or 83082-8; body-fluid 11210-2 is refused.",
        json_schema_extra={"pattern": r"^\s*(10334-1|83082-8)\s*$"})


class Ca125Submission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chemotherapy_start_date: PastDate = Field(
        description="Day 0 of the neoadjuvant chemotherapy (fixed once set).")
    measurements: list[MeasurementIn] = Field(max_length=MAX_POINTS_PER_SERIES)


class PredictionView(PredictionBody):
    prediction_id: uuid.UUID
    subject_id: str
    site_id: str
    version: int = Field(description="1, 2, ... per subject; the highest is in force.")
    superseded: bool
    trigger: str = Field(description="What caused this version: ca125, fhir, kelim_external, "
                                     "screening.")
    created_at: datetime


class Ca125Receipt(BaseModel):
    subject_id: str
    status: SubjectStatus = Field(description="awaiting_screening: kept, no prediction yet "
                                              "(202).")
    note: str | None = Field(None, description="What happens next, when awaiting screening.")
    chemotherapy_start_date: date | None
    added: int
    already_known: int
    measurements: list[MeasurementView]
    prediction: PredictionView | None
    new_prediction_version: bool


class OfficialKelimIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    value: StrictFloat = Field(gt=0, le=100, description="The calculator's KELIM.")
    scale: Literal["standardized", "per_day"] = Field(
        "standardized", description="standardized KELIM score (default) or a raw K per day.")
    source: str = Field(min_length=1, max_length=200, description="e.g. biomarker-kinetics.org")
    version: str = Field(min_length=1, max_length=100, description="Calculator/model version.")
    computed_on: PastDate | None = None


class OfficialKelimReceipt(BaseModel):
    subject_id: str
    status: SubjectStatus = Field(description="awaiting_screening: kept, no prediction yet "
                                              "(202).")
    note: str | None = Field(None, description="What happens next, when awaiting screening.")
    official_kelim: OfficialKelim
    prediction: PredictionView | None = Field(description="None while awaiting screening.")
    new_prediction_version: bool


class KelimRequest(BaseModel):
    """A CA-125 series for the stateless calculator."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    chemotherapy_start_date: date
    measurements: list[MeasurementIn] = Field(max_length=MAX_POINTS_PER_SERIES)
    uln_u_ml: StrictFloat | None = Field(None, gt=0, le=10_000,
                                   description="The lab's upper limit of normal (default 35).")


class KelimCalculation(BaseModel):
    kinetics: KineticsResult
    gcig: GcigResult
    protocol_version: str
    model_version: str
    assumptions: list[str]


class SeriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=100, description="Your identifier of the series.")
    chemotherapy_start_date: date
    measurements: list[MeasurementIn] = Field(max_length=MAX_POINTS_PER_SERIES)


class KelimBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    series: list[SeriesIn] = Field(description=f"At most {MAX_BATCH_SERIES} series.")


class SeriesResult(BaseModel):
    """One series' figures: `domain.kinetics_batch.KineticsSummary` with the caller's id."""

    id: str
    status: Literal["estimated", "insufficient_data"]
    k_per_day: float | None
    half_life_days: float | None
    standardized: float | None
    favorable: bool | None
    n_used: int
    n_excluded: int
    r_squared: float | None
    residual_sd_log: float | None
    missing: str | None


class KelimBatchResult(BaseModel):
    protocol_version: str
    method: str
    k_ref_per_day: float
    window_days: float
    assumptions: list[str]
    results: list[SeriesResult]


class Ca125CorrectionIn(MeasurementIn):
    """The corrected result for a day already recorded, and why it is corrected."""

    reason: str = Field(min_length=10, max_length=2000, pattern=r"\S+\s+\S+\s+\S+",
                        description="Why the stored value was wrong (at least three words).")


class Ca125CorrectionView(BaseModel):
    date: date
    previous_value_u_ml: float
    previous_original: str = Field(description="The earlier value as the site sent it.")
    previous_censoring: str | None
    value_u_ml: float
    original: str
    censoring: str | None
    reason: str
    corrected_by: str
    corrected_at: datetime


class Ca125CorrectionReceipt(BaseModel):
    subject_id: str
    status: SubjectStatus = Field(description="awaiting_screening: corrected, no prediction "
                                              "until her screening arrives.")
    correction: Ca125CorrectionView
    prediction: PredictionView | None
    new_prediction_version: bool
