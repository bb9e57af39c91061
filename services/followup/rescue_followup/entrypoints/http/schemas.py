"""Request and response bodies of the follow-up API (kept apart from the tables and the domain)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from rescue_followup.domain.pfs import CensorDateSource, CensorReason, PfsEventType, PfsResult
from rescue_followup.domain.visit_status import VisitLabel
from rescue_shared.clock import latest_calendar_date
from rescue_shared.validation.reasons import MIN_REASON_WORDS, reason_is_meaningful

SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SubjectId = Annotated[str, Field(pattern=SUBJECT_ID_PATTERN, description=(
    "Site pseudonym of the subject (letters, digits, '.', '_', '-')."))]


def _not_in_future(value: dt.date) -> dt.date:
    if value > latest_calendar_date():  # a site's today may be ahead of the server's UTC date
        raise PydanticCustomError("date_in_future", "the date must not be in the future")
    return value


PastDate = Annotated[dt.date, AfterValidator(_not_in_future)]


def _iso_date_only(value: object) -> object:
    # pydantic reads a number as a Unix time ("0" would be 1970-01-01): a date is YYYY-MM-DD.
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
ResidualDisease = Literal["none", "<1cm", ">=1cm", "unknown"]


class _Record(BaseModel):
    """Fields every record may carry: a correction names the record it supersedes and why."""

    model_config = ConfigDict(extra="forbid")

    supersedes: uuid.UUID | None = Field(
        None, description="Id of the record this one corrects; the old record is kept.")
    correction_reason: Text | None = Field(
        None, validate_default=True,
        description="Required with `supersedes`: why, in at least three words of two or more "
                    "letters (`x.y.z`, `1 2 3` are no reason).")

    @field_validator("correction_reason")
    @classmethod
    def _reason_goes_with_supersedes(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "supersedes" not in info.data:
            return value  # supersedes itself is invalid and reported
        if (info.data["supersedes"] is None) != (value is None):
            raise PydanticCustomError(
                "correction_incomplete",
                "a correction needs both 'supersedes' and 'correction_reason'")
        if value is not None and not reason_is_meaningful(value):
            raise PydanticCustomError(
                "min_words", "give the correction reason in at least {min_words} words of two "
                "or more letters", {"min_words": MIN_REASON_WORDS})
        return value

    def data(self) -> dict[str, object]:
        """The type's own fields, as stored."""
        return self.model_dump(mode="json", exclude={"type", "supersedes", "correction_reason"})


class RecistRecord(_Record):
    """A RECIST 1.1 tumour assessment. The first one recorded is the baseline."""

    type: Literal["recist"]
    date: PastDate
    target_lesion_sum_mm: StrictFloat | None = Field(
        ge=0, description="Sum of target-lesion diameters in mm; null = not measured.")
    new_lesions: StrictBool
    non_target_progression: StrictBool = Field(
        description="Unequivocal progression of non-target disease.")


class Ca125Record(_Record):
    """A serum CA-125 value. The first one recorded is the GCIG baseline."""

    type: Literal["ca125"]
    date: PastDate
    value: StrictFloat = Field(ge=0)
    unit: Literal["U/mL", "kU/L"] = Field(description="Numerically identical units.")


class DeathRecord(_Record):
    type: Literal["death"]
    date: PastDate
    cause: Text


class WithdrawalRecord(_Record):
    type: Literal["withdrawal"]
    date: PastDate
    reason: Text


class LostToFollowUpRecord(_Record):
    type: Literal["lost_to_followup"]
    last_contact_date: PastDate


class SurgeryRecord(_Record):
    """Secondary cytoreductive surgery: complete resection means no macroscopic residual."""

    type: Literal["surgery"]
    date: PastDate
    complete_resection: StrictBool
    residual_disease: ResidualDisease

    @field_validator("residual_disease")
    @classmethod
    def _resection_matches_residual(cls, value: str, info: ValidationInfo) -> str:
        complete = info.data.get("complete_resection")
        if complete is not None and complete != (value == "none"):
            raise PydanticCustomError(
                "resection_inconsistent",
                "complete_resection is true exactly when residual_disease is 'none' "
                "(got complete_resection={complete}, residual_disease={residual})",
                {"complete": str(complete).lower(), "residual": value})
        return value


AssessmentRequest = Annotated[
    RecistRecord | Ca125Record | DeathRecord | WithdrawalRecord | LostToFollowUpRecord
    | SurgeryRecord,
    Field(discriminator="type"),
]
AssessmentType = Literal["recist", "ca125", "death", "withdrawal", "lost_to_followup", "surgery"]


class PfsView(BaseModel):
    """A subject's PFS: event (progression or death) or censoring, with its dates."""

    subject_id: str
    event: bool
    event_type: PfsEventType | None
    start_date: dt.date
    end_date: dt.date
    days: int = Field(description="end_date - start_date + 1")
    censor_reason: CensorReason | None
    censor_date_source: CensorDateSource | None
    data_cutoff: dt.date | None

    @classmethod
    def of(cls, subject_id: str, pfs: PfsResult) -> PfsView:
        return cls(subject_id=subject_id, event=pfs.event, event_type=pfs.event_type,
                   start_date=pfs.start_date, end_date=pfs.end_date, days=pfs.days,
                   censor_reason=pfs.censor_reason, censor_date_source=pfs.censor_date_source,
                   data_cutoff=pfs.data_cutoff)


class AssessmentView(BaseModel):
    assessment_id: uuid.UUID
    subject_id: str
    site_id: str
    type: AssessmentType
    date: dt.date = Field(description="The clinical date (last contact for lost to follow-up).")
    data: dict[str, object]
    supersedes: uuid.UUID | None
    correction_reason: str | None
    superseded_by: uuid.UUID | None = None
    current: bool = Field(description="False once a correction superseded it.")
    recorded_by: str
    created_at: dt.datetime


class RecordedAssessment(AssessmentView):
    pfs: PfsView = Field(description="The subject's PFS with this record taken into account.")


class SubjectView(BaseModel):
    subject_id: str
    site_id: str
    randomization_number: str
    arm: str
    stratum: dict[str, str]
    randomization_date: dt.date
    scheme: str
    protocol_version: str
    registered_at: dt.datetime
    invalidated: bool
    invalidation_reason: str | None


ScheduleVisitStatus = VisitLabel


class VisitView(BaseModel):
    number: int
    month: int
    target_date: dt.date
    window_start: dt.date
    window_end: dt.date
    status: ScheduleVisitStatus = Field(description=(
        "done: a RECIST assessment falls in the window; overdue: the window closed without one; "
        "due: the window is open; upcoming: not yet open; not_required: follow-up ended "
        "(progression, death, withdrawal, lost to follow-up) before the window closed."))
    assessment_date: dt.date | None


class SubjectVisits(BaseModel):
    subject_id: str
    site_id: str
    today: dt.date
    protocol_version: str
    follow_up_ended: dt.date | None
    visits: list[VisitView]
    unscheduled_assessments: list[dt.date]


class OverdueVisit(BaseModel):
    subject_id: str
    number: int
    month: int
    target_date: dt.date
    window_end: dt.date
    days_overdue: int = Field(description="Days since the window closed.")


class SiteOverdue(BaseModel):
    site_id: str
    overdue: list[OverdueVisit]


class OverdueVisits(BaseModel):
    today: dt.date
    total: int
    sites: list[SiteOverdue]
