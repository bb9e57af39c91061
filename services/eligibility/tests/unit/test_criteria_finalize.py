"""Finalisation of a screening with the complete-resection prediction (INC-05)."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_eligibility.domain import (
    ClinicalFacts,
    ResectionClassification,
    ScreeningOutcome,
    ScreeningResult,
    evaluate,
    finalize,
)

ELIGIBLE: dict[str, Any] = {
    "age_years": 45,
    "histology": "endometrioid",
    "primary_site": "fallopian_tube",
    "recurrence_number": 1,
    "prior_chemotherapy_lines": 1,
    "platinum_free_interval_months": 9.0,
    "progressed_on_platinum": False,
    "nact_response_recist": "SD",
    "nact_response_gcig_ca125": False,
    "unresectable_disease_on_imaging": False,
    "palliative_surgery_only": False,
}


def _screen(drop: tuple[str, ...] = (), **changes: Any) -> ScreeningResult:
    data = {k: v for k, v in (ELIGIBLE | changes).items() if k not in drop}
    return evaluate(PROTOCOL_FILES.load("1"), ClinicalFacts.model_validate(data))


def _inc5(result: ScreeningResult) -> tuple[str, str]:
    c = next(c for c in result.criteria if c.id == "INC-05")
    return c.result, c.reason


def test_highly_likely_confirms() -> None:
    final = finalize(_screen(), "highly_likely_complete_resection")
    assert final.outcome == "eligible"
    assert final.awaiting_prediction is False
    assert final.final_decision == "eligible"
    assert final.prediction_classification == "highly_likely_complete_resection"
    assert _inc5(final) == ("met", "prediction service: complete resection highly likely")


def test_not_highly_likely_rejects() -> None:
    final = finalize(_screen(), "not_highly_likely")
    assert final.outcome == "ineligible"
    assert final.final_decision == "ineligible"
    assert final.failed_criteria == ("INC-05",)
    assert final.rejection_reason() == (
        "INC-05: prediction service: complete resection not highly likely"
    )


def test_insufficient_data_stays_pending() -> None:
    final = finalize(_screen(), "insufficient_data")
    assert final.outcome == "eligible"
    assert final.awaiting_prediction is True
    assert final.final_decision == "pending"
    assert _inc5(final)[0] == "pending_prediction"
    assert "insufficient data" in _inc5(final)[1]


def test_latest_prediction_supersedes() -> None:
    first = finalize(_screen(), "insufficient_data")
    confirmed = finalize(first, "highly_likely_complete_resection")
    assert confirmed.final_decision == "eligible"
    revised = finalize(confirmed, "not_highly_likely")
    assert revised.final_decision == "ineligible"
    assert revised.prediction_classification == "not_highly_likely"


def test_finalize_does_not_mutate_the_screening() -> None:
    screening = _screen()
    finalize(screening, "not_highly_likely")
    assert screening.outcome == "eligible"
    assert _inc5(screening)[0] == "pending_prediction"


@pytest.mark.parametrize("classification", get_args(ResectionClassification))
def test_ineligible_screening_stays_ineligible(classification: str) -> None:
    final = finalize(_screen(age_years=18), classification)  # type: ignore[arg-type]
    assert final.final_decision == "ineligible"
    assert "INC-04" in final.failed_criteria
    assert "INC-04: age 18 years < 19 years" in final.rejection_reason()


@pytest.mark.parametrize(
    ("classification", "decision"),
    [("highly_likely_complete_resection", "pending"), ("insufficient_data", "pending"),
     ("not_highly_likely", "ineligible")],
)
def test_incomplete_screening(classification: str, decision: str) -> None:
    final = finalize(_screen(("age_years",)), classification)  # type: ignore[arg-type]
    assert final.final_decision == decision
    assert final.missing_facts == ("age_years",)


def test_finalize_a_result_rehydrated_from_json() -> None:
    stored = _screen().model_dump_json()
    rehydrated = ScreeningResult.model_validate_json(stored)
    final = finalize(rehydrated, "highly_likely_complete_resection")
    assert final.final_decision == "eligible"
    assert final.protocol_version == "1"


def test_unknown_classification_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown resection classification"):
        finalize(_screen(), "probably")  # type: ignore[arg-type]


def test_literals_match_the_shared_event_contracts() -> None:
    events = pytest.importorskip("rescue_shared.contracts.events")
    assert set(get_args(ResectionClassification)) == set(get_args(events.ResectionClassification))
    assert set(get_args(ScreeningOutcome)) == set(get_args(events.ScreeningOutcome))


def test_result_fits_the_screened_event() -> None:
    events = pytest.importorskip("rescue_shared.contracts.events")
    facts = ClinicalFacts.model_validate(ELIGIBLE | {"nact_response_gcig_ca125": None})
    result = evaluate(PROTOCOL_FILES.load("1"), facts)
    payload = events.SubjectScreened(
        screening_id="00000000-0000-0000-0000-000000000001",
        screening_date="2026-01-05",
        protocol_version=result.protocol_version,
        outcome=result.outcome,
        awaiting_prediction=result.awaiting_prediction,
        failed_criteria=list(result.failed_criteria),
        missing_facts=list(result.missing_facts),
        clinical_facts=facts.known(),
    )
    assert ClinicalFacts.model_validate(payload.clinical_facts) == facts
