"""Evaluation of protocol version 1: every criterion at its boundaries and the outcome logic."""

from __future__ import annotations

from typing import Any

import pytest

from rescue_eligibility.adapters.protocol_files import PROTOCOL_FILES
from rescue_eligibility.domain import ClinicalFacts, ScreeningResult, evaluate

V1 = PROTOCOL_FILES.load("1")

ELIGIBLE: dict[str, Any] = {
    "age_years": 58,
    "histology": "high_grade_serous",
    "primary_site": "ovary",
    "recurrence_number": 1,
    "prior_chemotherapy_lines": 1,
    "platinum_free_interval_months": 14.0,
    "progressed_on_platinum": False,
    "nact_cycles": 3,
    "nact_platinum_based": True,
    "nact_response_recist": "PR",
    "nact_response_gcig_ca125": True,
    "ecog": 0,
    "ascites_ml": 0.0,
    "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC",
    "unresectable_disease_on_imaging": False,
    "palliative_surgery_only": False,
    "ca125_at_recurrence_u_ml": 80.0,
}


def _screen(drop: tuple[str, ...] = (), **changes: Any) -> ScreeningResult:
    data = {k: v for k, v in (ELIGIBLE | changes).items() if k not in drop}
    return evaluate(V1, ClinicalFacts.model_validate(data))


def _result(screening: ScreeningResult, criterion_id: str) -> str:
    return next(c.result for c in screening.criteria if c.id == criterion_id)


def _reason(screening: ScreeningResult, criterion_id: str) -> str:
    return next(c.reason for c in screening.criteria if c.id == criterion_id)


def test_fully_eligible_subject_awaits_the_prediction() -> None:
    result = _screen()
    assert result.protocol_version == "1"
    assert result.outcome == "eligible"
    assert result.awaiting_prediction is True
    assert result.final_decision == "pending"
    assert result.failed_criteria == ()
    assert result.missing_facts == ()
    assert {c.id: c.result for c in result.criteria} == {
        "INC-01": "met", "INC-02": "met", "INC-03": "met", "INC-04": "met",
        "INC-05": "pending_prediction",
        "EXC-01": "met", "EXC-02": "met", "EXC-03": "met", "EXC-04": "met", "EXC-05": "met",
        "EXC-06": "met",
    }
    assert result.rejection_reason() == ""


def test_evaluate_with_an_explicit_protocol_records_its_version() -> None:
    result = evaluate(V1, ClinicalFacts.model_validate(ELIGIBLE))
    assert result.protocol_version == V1.version


def test_criterion_results_carry_text_kind_and_source() -> None:
    exc1 = next(c for c in _screen().criteria if c.id == "EXC-01")
    assert exc1.kind == "exclusion"
    assert exc1.text == "Non-epithelial or borderline tumour."
    assert "DESKTOP III / SOC-1" in exc1.source


# --- Inclusion 2 and exclusion 4: platinum-free interval ---------------------------------------

def test_pfi_exactly_six_months_is_met() -> None:
    result = _screen(platinum_free_interval_months=6.0)
    assert _result(result, "INC-02") == "met"
    assert _result(result, "EXC-04") == "met"
    assert result.outcome == "eligible"
    assert _reason(result, "INC-02") == "platinum-free interval 6 months >= 6 months"


def test_pfi_just_below_six_months_is_not_met() -> None:
    result = _screen(platinum_free_interval_months=5.99)
    assert result.outcome == "ineligible"
    assert set(result.failed_criteria) == {"INC-01", "INC-02", "EXC-04"}
    assert _reason(result, "INC-02") == "platinum-free interval 5.99 months < 6 months"
    assert _reason(result, "EXC-04") == (
        "exclusion applies: platinum-free interval 5.99 months < 6 months"
    )


def test_progressed_on_platinum_is_excluded() -> None:
    result = _screen(progressed_on_platinum=True)
    assert result.outcome == "ineligible"
    assert _result(result, "EXC-04") == "not_met"
    assert _result(result, "INC-01") == "not_met"
    assert "progression during or within 6 months after platinum: yes" in _reason(
        result, "EXC-04"
    )


# --- Inclusion 4: age --------------------------------------------------------------------------

def test_age_exactly_19_is_met() -> None:
    result = _screen(age_years=19)
    assert _result(result, "INC-04") == "met"
    assert result.outcome == "eligible"


def test_age_18_is_not_met() -> None:
    result = _screen(age_years=18)
    assert result.failed_criteria == ("INC-04",)
    assert _reason(result, "INC-04") == "age 18 years < 19 years"


# --- Inclusion 3: response to neoadjuvant chemotherapy -----------------------------------------

@pytest.mark.parametrize(
    ("recist", "gcig", "expected"),
    [
        ("CR", False, "met"),
        ("PR", None, "met"),
        ("SD", False, "met"),
        ("SD", "absent", "met"),
        ("PD", True, "met"),
        ("NE", True, "met"),
        ("absent", True, "met"),
        ("PD", False, "not_met"),
        ("PD", None, "not_met"),
        ("NE", None, "not_met"),
        ("NE", False, "not_met"),
        ("PD", "absent", "unknown"),
        ("absent", False, "unknown"),
        ("absent", None, "unknown"),
        ("absent", "absent", "unknown"),
    ],
)
def test_inclusion_3_response(recist: str, gcig: bool | str | None, expected: str) -> None:
    drop = tuple(
        name for name, v in (("nact_response_recist", recist), ("nact_response_gcig_ca125", gcig))
        if v == "absent"
    )
    result = _screen(drop, nact_response_recist=recist, nact_response_gcig_ca125=gcig)
    assert _result(result, "INC-03") == expected


def test_gcig_response_alone_suffices_and_is_cited() -> None:
    result = _screen(nact_response_recist="PD", nact_response_gcig_ca125=True)
    assert result.outcome == "eligible"
    assert _reason(result, "INC-03") == "GCIG CA-125 response: yes"


def test_no_response_reason_cites_both_assessments() -> None:
    result = _screen(nact_response_recist="PD", nact_response_gcig_ca125=None)
    assert _reason(result, "INC-03") == (
        "RECIST 1.1 response PD not in [CR, PR, SD]; GCIG CA-125 response: not evaluable"
    )


def test_gcig_not_evaluable_is_not_a_missing_fact() -> None:
    result = _screen(("nact_response_gcig_ca125",), nact_response_recist="PD")
    assert result.missing_facts == ("nact_response_gcig_ca125",)
    result = _screen(nact_response_recist="PD", nact_response_gcig_ca125=None)
    assert result.missing_facts == ()


# --- Inclusion 1 and exclusions 1-3: disease ---------------------------------------------------

@pytest.mark.parametrize("histology", ["borderline", "non_epithelial"])
def test_borderline_and_non_epithelial_are_excluded(histology: str) -> None:
    result = _screen(histology=histology)
    assert set(result.failed_criteria) == {"INC-01", "EXC-01"}
    assert _reason(result, "EXC-01") == (
        f"exclusion applies: histology {histology} in [non_epithelial, borderline]"
    )
    assert _reason(result, "INC-01") == f"histology {histology} is not invasive epithelial"


@pytest.mark.parametrize(
    "histology",
    ["high_grade_serous", "low_grade_serous", "endometrioid", "clear_cell", "mucinous",
     "carcinosarcoma", "mixed_epithelial", "other_epithelial"],
)
def test_epithelial_histologies_are_included(histology: str) -> None:
    assert _screen(histology=histology).outcome == "eligible"


@pytest.mark.parametrize("site", ["ovary", "fallopian_tube", "peritoneum"])
def test_primary_sites(site: str) -> None:
    assert _screen(primary_site=site).outcome == "eligible"


def test_second_recurrence_is_excluded() -> None:
    result = _screen(recurrence_number=2)
    assert set(result.failed_criteria) == {"INC-01", "EXC-02"}
    assert _reason(result, "INC-01") == "recurrence number 2 != 1"
    assert _reason(result, "EXC-02") == "exclusion applies: recurrence number 2 >= 2"


def test_two_prior_chemotherapy_lines_are_excluded() -> None:
    result = _screen(prior_chemotherapy_lines=2)
    assert result.failed_criteria == ("EXC-03",)
    assert _reason(result, "EXC-03") == "exclusion applies: prior chemotherapy lines 2 > 1"


def test_one_prior_line_is_allowed() -> None:
    result = _screen(prior_chemotherapy_lines=1)
    assert _reason(result, "EXC-03") == (
        "exclusion does not apply: prior chemotherapy lines 1 <= 1"
    )


# --- Exclusions 5-6: surgery -------------------------------------------------------------------

def test_palliative_surgery_only_is_excluded() -> None:
    result = _screen(palliative_surgery_only=True)
    assert result.failed_criteria == ("EXC-05",)
    assert _reason(result, "EXC-05") == "exclusion applies: planned palliative surgery only: yes"


def test_unresectable_on_imaging_is_excluded() -> None:
    result = _screen(unresectable_disease_on_imaging=True)
    assert result.failed_criteria == ("EXC-06",)
    assert result.outcome == "ineligible"
    assert result.awaiting_prediction is False
    assert result.final_decision == "ineligible"


# --- Missing facts -----------------------------------------------------------------------------

def test_no_facts_is_incomplete_never_ineligible() -> None:
    result = evaluate(V1, ClinicalFacts())
    assert result.outcome == "incomplete"
    assert result.failed_criteria == ()
    assert result.awaiting_prediction is False
    assert result.final_decision == "pending"
    assert set(result.missing_facts) == set(V1.facts())


@pytest.mark.parametrize("fact", V1.facts())
def test_each_missing_fact_makes_it_incomplete(fact: str) -> None:
    # For inclusion 3 the other response assessment must not already decide it.
    others: dict[str, dict[str, Any]] = {
        "nact_response_recist": {"nact_response_gcig_ca125": False},
        "nact_response_gcig_ca125": {"nact_response_recist": "PD"}}
    other = others.get(fact, {})
    result = _screen((fact,), **other)
    assert result.outcome == "incomplete"
    assert result.failed_criteria == ()
    assert fact in result.missing_facts
    assert result.awaiting_prediction is False
    unknown = [c for c in result.criteria if c.result == "unknown"]
    assert unknown
    assert all(fact in c.missing_facts for c in unknown)


def test_facts_not_used_by_any_criterion_are_not_required() -> None:
    drop = ("nact_cycles", "nact_platinum_based", "ecog", "ascites_ml",
            "residual_disease_primary_surgery", "figo_stage_initial", "ca125_at_recurrence_u_ml")
    assert _screen(drop).outcome == "eligible"


def test_unknown_reason_names_the_missing_fact() -> None:
    result = _screen(("age_years",))
    assert _reason(result, "INC-04") == "age: missing"
    assert result.missing_facts == ("age_years",)


def test_missing_fact_with_a_certain_failure_is_ineligible() -> None:
    result = _screen(("age_years", "ecog"), recurrence_number=2)
    assert result.outcome == "ineligible"
    assert set(result.failed_criteria) == {"INC-01", "EXC-02"}
    assert result.missing_facts == ("age_years",)
    assert _result(result, "INC-04") == "unknown"


def test_missing_fact_irrelevant_once_another_part_decides() -> None:
    result = _screen(("platinum_free_interval_months",), progressed_on_platinum=True)
    assert result.outcome == "ineligible"
    assert _result(result, "EXC-04") == "not_met"
    assert _result(result, "INC-02") == "unknown"
    assert result.missing_facts == ("platinum_free_interval_months",)


def test_facts_used_are_recorded() -> None:
    result = _screen(platinum_free_interval_months=7.5)
    inc2 = next(c for c in result.criteria if c.id == "INC-02")
    assert inc2.facts_used == {"platinum_free_interval_months": 7.5}


def test_result_serialises_to_json_with_final_decision() -> None:
    data = _screen().model_dump(mode="json")
    assert data["final_decision"] == "pending"
    assert data["criteria"][0]["id"] == "INC-01"
    assert data["failed_criteria"] == []
