"""What eligibility keeps, in the trial's terms (plain data; the tables are in `adapters/`).

- `Screening`: one screening of a candidate under one protocol version. `result` is the judgement
  at screening and never changes; `final_result` follows the complete-resection prediction
  (INC-05), and what a reader sees is `current`.
- `Subject`: per subject, her site, her latest screening and the latest prediction applied.
- `AccessRefusal`: a subject id a caller was refused, with the cause the caller is never told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from rescue_eligibility.domain.evaluation import (
    FinalDecision,
    ResectionClassification,
    ScreeningResult,
)
from rescue_eligibility.domain.facts import FactValue
from rescue_eligibility.domain.subject_ids import RefusalCause


@dataclass
class Screening:
    id: str
    subject_id: str
    site_id: str
    screening_date: date
    protocol_version: str
    facts: dict[str, FactValue]
    result: ScreeningResult
    screened_by: str
    created_at: datetime
    final_result: ScreeningResult | None = None
    prediction_id: str | None = None
    decided_at: datetime | None = None

    @property
    def current(self) -> ScreeningResult:
        """The judgement as it stands: finalized by the prediction, or as at screening."""
        return self.final_result or self.result

    @property
    def final_decision(self) -> FinalDecision:
        return self.current.final_decision


@dataclass
class Subject:
    subject_id: str
    site_id: str
    latest_screening_id: str | None = None
    prediction_id: str | None = None
    prediction_version: int | None = None
    prediction_classification: ResectionClassification | None = None


@dataclass
class AccessRefusal:
    attempted_at: datetime
    actor: str
    actor_roles: list[str]
    site_id: str | None
    subject_id: str
    action: str
    cause: RefusalCause
    correlation_id: str | None
    id: int | None = None
