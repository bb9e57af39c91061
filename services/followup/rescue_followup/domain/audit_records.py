"""What the audit trail shows of follow-up's records (an entry's before / after)."""

from __future__ import annotations

from typing import Any

from rescue_followup.domain.model import (
    EligibilityDecision,
    ParkedInvalidation,
    Prediction,
    Record,
    Screening,
    Subject,
)


def subject_record(subject: Subject) -> dict[str, Any]:
    """A subject as registered from her allocation, with her invalidation if any."""
    return {
        "randomization_number": subject.randomization_number, "arm": subject.arm,
        "stratum": dict(subject.stratum), "randomization_date": subject.randomization_date,
        "scheme": subject.scheme, "protocol_version": subject.protocol_version,
        "invalidated": subject.invalidated, "invalidated_at": subject.invalidated_at,
        "invalidation_reason": subject.invalidation_reason,
    }


def assessment_record(record: Record) -> dict[str, Any]:
    """One follow-up record (RECIST, CA-125, death, ...) as the site entered it."""
    return {
        "record_id": record.id, "type": record.type, "assessment_date": record.assessment_date,
        "data": dict(record.data), "recorded_by": record.recorded_by,
        "supersedes": record.supersedes_id, "correction_reason": record.correction_reason,
    }


def parked_invalidation_record(parked: ParkedInvalidation) -> dict[str, Any]:
    return {"randomization_number": parked.randomization_number, "reason": parked.reason,
            "invalidated_by": parked.invalidated_by, "invalidated_at": parked.invalidated_at}


def screening_record(screening: Screening) -> dict[str, Any]:
    return {"screening_id": screening.screening_id, "screening_date": screening.screening_date,
            "outcome": screening.outcome, "failed_criteria": screening.failed_criteria}


def decision_record(decision: EligibilityDecision) -> dict[str, Any]:
    return {"screening_id": decision.screening_id, "decision": decision.decision,
            "failed_criteria": list(decision.failed_criteria), "reason": decision.reason,
            "decided_at": decision.decided_at}


def prediction_record(prediction: Prediction) -> dict[str, Any]:
    return {"prediction_id": prediction.prediction_id, "version": prediction.version,
            "classification": prediction.classification}
