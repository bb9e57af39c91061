"""What the prediction service keeps about a subject, in the trial's terms (no storage here).

The repositories (`service_layer/repositories.py`) hand these out and take them back; the SQL
tables they map to are in `adapters/tables.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.units import Censoring, NormalisedCa125

#: A subject id as sites write it (a pseudonym): letters, digits, ".", "_", "-"; at most 64.
SUBJECT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Ca125Source = Literal["json", "fhir"]
QuarantineKind = Literal["ca125", "ca125_correction", "kelim_external", "chemotherapy_start_date"]


@dataclass
class Subject:
    """A subject known from eligibility screenings, with the facts the scores need.

    A site may send her CA-125 values before `eligibility.screened` reaches this service: she is
    then *provisional* (no screening yet), owned by the site that wrote, and her values wait for
    the screening (README, Prediction: values before the screening).
    """

    subject_id: str
    site_id: str
    first_seen_at: datetime
    latest_screening_id: str | None = None
    latest_screening_outcome: str | None = None
    clinical_facts: dict[str, Any] = field(default_factory=dict)
    screenings_seen: int = 0
    chemotherapy_start_date: date | None = None
    chemotherapy_start_recorded_by: str | None = None

    @property
    def awaiting_screening(self) -> bool:
        """Known only from a site's values: no screening has arrived yet."""
        return self.latest_screening_id is None

    def record_screening(self, screening_id: str, outcome: str,
                         clinical_facts: dict[str, Any]) -> None:
        """The latest screening's facts replace the earlier ones."""
        self.latest_screening_id = screening_id
        self.latest_screening_outcome = outcome
        self.clinical_facts = dict(clinical_facts)
        self.screenings_seen += 1


@dataclass(frozen=True)
class StoredCa125:
    """One CA-125 value of a subject: normalised to U/mL, with what the site sent."""

    subject_id: str
    effective_date: date
    value_u_ml: float
    original_value: float
    original_unit: str
    loinc: str
    censoring: Censoring | None
    source: Ca125Source
    fhir_id: str | None
    received_by: str
    received_at: datetime

    def normalised(self) -> NormalisedCa125:
        return NormalisedCa125(
            effective_date=self.effective_date, value_u_ml=self.value_u_ml,
            original_value=self.original_value, original_unit=self.original_unit,
            loinc=self.loinc, censoring=self.censoring)


@dataclass(frozen=True)
class Ca125Correction:
    """A correction of a stored CA-125 value: what it was, what it became, who, when and why."""

    subject_id: str
    effective_date: date
    previous_value_u_ml: float
    previous_original_value: float
    previous_original_unit: str
    previous_censoring: str | None
    value_u_ml: float
    original_value: float
    original_unit: str
    censoring: str | None
    reason: str
    corrected_by: str
    corrected_at: datetime


def correct_value(stored: StoredCa125, new: NormalisedCa125, reason: str, corrected_by: str,
                  at: datetime) -> tuple[StoredCa125, Ca125Correction]:
    """The stored value with its corrected figures, and the history entry keeping the earlier."""
    correction = Ca125Correction(
        subject_id=stored.subject_id, effective_date=stored.effective_date,
        previous_value_u_ml=stored.value_u_ml, previous_original_value=stored.original_value,
        previous_original_unit=stored.original_unit, previous_censoring=stored.censoring,
        value_u_ml=new.value_u_ml, original_value=new.original_value,
        original_unit=new.original_unit, censoring=new.censoring, reason=reason,
        corrected_by=corrected_by, corrected_at=at)
    corrected = StoredCa125(
        subject_id=stored.subject_id, effective_date=stored.effective_date,
        value_u_ml=new.value_u_ml, original_value=new.original_value,
        original_unit=new.original_unit, loinc=new.loinc, censoring=new.censoring,
        source=stored.source, fhir_id=stored.fhir_id, received_by=stored.received_by,
        received_at=stored.received_at)
    return corrected, correction


@dataclass(frozen=True)
class ReceivedOfficialKelim:
    """A KELIM from the official calculator as a site sent it; the latest received counts."""

    subject_id: str
    kelim: OfficialKelim
    received_by: str
    received_at: datetime


@dataclass(frozen=True)
class PredictionVersion:
    """One version of a subject's complete-resection prediction (never changed once stored)."""

    prediction_id: str
    subject_id: str
    site_id: str
    version: int
    classification: str
    kelim_per_day: float | None
    kelim_standardized: float | None
    kelim_source: str | None
    model_version: str
    protocol_version: str
    trigger: str
    result: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class QuarantinedInput:
    """A value sent for a subject before her screening, by a site other than the screening's.

    Never used in any fit; kept as sent, with who sent it, when, and why it was set aside. `id`
    is given by the store.
    """

    subject_id: str
    kind: QuarantineKind
    sent_by_site_id: str
    screened_at_site_id: str
    screening_id: str
    received_by: str | None
    received_at: datetime | None
    payload: dict[str, Any]
    reason: str
    quarantined_at: datetime
    id: int | None = None
