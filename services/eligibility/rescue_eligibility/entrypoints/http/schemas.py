"""Request and response bodies of the eligibility API (kept apart from the domain and tables)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rescue_eligibility.domain.criteria import Protocol
from rescue_eligibility.domain.evaluation import (
    CriterionResult,
    FinalDecision,
    ResectionClassification,
    ScreeningOutcome,
)
from rescue_eligibility.domain.facts import ClinicalFacts
from rescue_eligibility.domain.model import Screening
from rescue_shared.clock import latest_calendar_date

SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SubjectId = Annotated[str, Field(pattern=SUBJECT_ID_PATTERN, description=(
    "Site pseudonym of the subject (letters, digits, '.', '_', '-'); never a direct identifier."
))]


def _not_in_future(value: date) -> date:
    if value > latest_calendar_date():  # a site's today may be ahead of the server's UTC date
        raise ValueError("screening_date must not be in the future")
    return value


class ScreeningRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_id: SubjectId
    screening_date: Annotated[date, AfterValidator(_not_in_future)]
    facts: ClinicalFacts
    site_id: str | None = Field(None, min_length=1, max_length=100, description=(
        "The screening site, one of the caller's sites: required when the token names several, "
        "else the caller's site."))


class ScreeningView(BaseModel):
    screening_id: uuid.UUID
    subject_id: str
    site_id: str
    screening_date: date
    protocol_version: str
    outcome: ScreeningOutcome
    awaiting_prediction: bool
    failed_criteria: list[str]
    missing_facts: list[str]
    criteria: list[CriterionResult] = Field(
        description="Per criterion, as judged now (INC-05 follows the latest prediction).")
    final_decision: FinalDecision = Field(
        description="eligible / ineligible once decided; pending while facts or the "
                    "complete-resection prediction are outstanding.")
    prediction_classification: ResectionClassification | None = None
    decided_at: datetime | None = None
    screened_by: str
    created_at: datetime

    @classmethod
    def of(cls, screening: Screening) -> ScreeningView:
        """The screening as it stands (finalized by the prediction when it is known)."""
        current = screening.current
        return cls(
            screening_id=uuid.UUID(screening.id), subject_id=screening.subject_id,
            site_id=screening.site_id, screening_date=screening.screening_date,
            protocol_version=screening.protocol_version, outcome=current.outcome,
            awaiting_prediction=current.awaiting_prediction,
            failed_criteria=list(current.failed_criteria),
            missing_facts=list(current.missing_facts), criteria=list(current.criteria),
            final_decision=current.final_decision,
            prediction_classification=current.prediction_classification,
            decided_at=screening.decided_at, screened_by=screening.screened_by,
            created_at=screening.created_at,
        )


class CriteriaIndex(BaseModel):
    current_version: str
    available_versions: list[str]
    protocol: Protocol


class AccessRefusalView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempted_at: datetime
    actor: str
    actor_roles: list[str]
    site_id: str | None
    subject_id: str
    action: str
    cause: str
    correlation_id: str | None
