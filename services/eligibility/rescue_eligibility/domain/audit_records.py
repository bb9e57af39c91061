"""What the audit trail shows of eligibility's records (the `before` / `after` of an entry)."""

from __future__ import annotations

from typing import Any

from rescue_eligibility.domain.model import Screening, Subject


def screening_record(screening: Screening) -> dict[str, Any]:
    """A screening as an auditor reads it: the facts judged and the judgement as it stands."""
    current = screening.current
    return {
        "screening_id": screening.id, "screening_date": screening.screening_date,
        "protocol_version": screening.protocol_version, "facts": dict(screening.facts),
        "outcome": screening.result.outcome, "final_decision": current.final_decision,
        "failed_criteria": list(current.failed_criteria),
        "missing_facts": list(current.missing_facts), "prediction_id": screening.prediction_id,
        "screened_by": screening.screened_by,
    }


def prediction_applied_record(subject: Subject) -> dict[str, Any]:
    """The complete-resection prediction eligibility holds for a subject."""
    return {"prediction_id": subject.prediction_id, "version": subject.prediction_version,
            "classification": subject.prediction_classification}
