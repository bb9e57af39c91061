"""What the audit trail shows of the prediction service's records (an entry's before / after)."""

from __future__ import annotations

from typing import Any

from rescue_prediction.domain.model import (
    PredictionVersion,
    ReceivedOfficialKelim,
    StoredCa125,
    Subject,
)


def ca125_record(value: StoredCa125) -> dict[str, Any]:
    """One CA-125 value: normalised and as sent."""
    return {
        "date": value.effective_date, "value_u_ml": value.value_u_ml,
        "original_value": value.original_value, "original_unit": value.original_unit,
        "loinc": value.loinc, "censoring": value.censoring, "source": value.source,
        "fhir_id": value.fhir_id, "received_by": value.received_by,
    }


def official_kelim_record(received: ReceivedOfficialKelim) -> dict[str, Any]:
    return {**received.kelim.model_dump(mode="json"), "received_by": received.received_by}


def prediction_record(version: PredictionVersion) -> dict[str, Any]:
    """A prediction version: its classification, the KELIM used and what triggered it."""
    return {
        "prediction_id": version.prediction_id, "version": version.version,
        "classification": version.classification, "kelim_per_day": version.kelim_per_day,
        "kelim_standardized": version.kelim_standardized, "kelim_source": version.kelim_source,
        "model_version": version.model_version, "protocol_version": version.protocol_version,
        "trigger": version.trigger,
    }


def subject_record(subject: Subject) -> dict[str, Any]:
    """What the service holds about a subject besides her values."""
    return {
        "site_id": subject.site_id, "latest_screening_id": subject.latest_screening_id,
        "latest_screening_outcome": subject.latest_screening_outcome,
        "clinical_facts": dict(subject.clinical_facts),
        "chemotherapy_start_date": subject.chemotherapy_start_date,
    }
