"""The screening facts model: validation, missing versus 'not evaluable', the fact specs."""

from __future__ import annotations

import json
import math

import pytest
from pydantic import ValidationError

from rescue_eligibility.domain.facts import FACT_SPECS, ClinicalFacts, Histology


def _error_fields(exc: ValidationError) -> set[str]:
    return {str(e["loc"][0]) for e in exc.errors()}


def test_all_facts_are_optional() -> None:
    assert ClinicalFacts().known() == {}


def test_unknown_fact_name_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        ClinicalFacts.model_validate({"age_years": 50, "agee_years": 50})
    assert _error_fields(exc.value) == {"agee_years"}


def test_every_bad_field_is_named() -> None:
    bad = {
        "age_years": 121,
        "histology": "sarcoma",
        "primary_site": "uterus",
        "recurrence_number": 0,
        "prior_chemotherapy_lines": -1,
        "platinum_free_interval_months": -0.1,
        "progressed_on_platinum": "maybe",
        "nact_cycles": 13,
        "nact_response_recist": "MR",
        "nact_response_gcig_ca125": "sometimes",
        "ecog": 5,
        "ascites_ml": -1,
        "residual_disease_primary_surgery": "2cm",
        "figo_stage_initial": "V",
        "unresectable_disease_on_imaging": "perhaps",
        "palliative_surgery_only": [],
        "ca125_at_recurrence_u_ml": 0,
    }
    with pytest.raises(ValidationError) as exc:
        ClinicalFacts.model_validate(bad)
    assert _error_fields(exc.value) == set(bad)


@pytest.mark.parametrize(
    ("name", "ok", "bad"),
    [
        ("age_years", [0, 19, 120], [-1, 121, 19.5]),
        ("nact_cycles", [1, 12], [0, 13]),
        ("ecog", [0, 4], [-1, 5]),
        ("recurrence_number", [1, 3], [0]),
        ("platinum_free_interval_months", [0, 5.99, 6.0], [-0.01]),
        ("ca125_at_recurrence_u_ml", [0.1, 1000], [0, -5]),
        ("ascites_ml", [0, 499.9], [-1]),
    ],
)
def test_ranges(name: str, ok: list[float], bad: list[float]) -> None:
    for value in ok:
        assert getattr(ClinicalFacts.model_validate({name: value}), name) == value
    for value in bad:
        with pytest.raises(ValidationError):
            ClinicalFacts.model_validate({name: value})


def test_nan_and_infinity_are_rejected() -> None:
    for value in (math.nan, math.inf):
        with pytest.raises(ValidationError):
            ClinicalFacts(platinum_free_interval_months=value)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("residual_disease_primary_surgery", ["none", "<1cm", ">=1cm", "unknown"]),
        ("figo_stage_initial", ["I", "IA", "IIB", "IIIC", "IV", "IVB"]),
        ("nact_response_recist", ["CR", "PR", "SD", "PD", "NE"]),
        ("primary_site", ["ovary", "fallopian_tube", "peritoneum"]),
        ("histology", [h.value for h in Histology]),
    ],
)
def test_enum_values_accepted_and_known_as_strings(name: str, values: list[str]) -> None:
    for value in values:
        known = ClinicalFacts.model_validate({name: value}).known()
        assert known == {name: value}
        assert type(known[name]) is str


def test_gcig_absent_means_missing() -> None:
    assert "nact_response_gcig_ca125" not in ClinicalFacts(age_years=40).known()


def test_gcig_explicit_null_means_not_evaluable() -> None:
    facts = ClinicalFacts.model_validate_json('{"nact_response_gcig_ca125": null}')
    assert facts.known() == {"nact_response_gcig_ca125": None}


def test_explicit_null_of_other_facts_means_missing() -> None:
    facts = ClinicalFacts.model_validate({"age_years": None, "ecog": None})
    assert facts.known() == {}


def test_known_round_trips_through_json() -> None:
    facts = ClinicalFacts.model_validate(
        {"histology": "borderline", "nact_response_gcig_ca125": None, "ascites_ml": 200.0}
    )
    again = ClinicalFacts.model_validate(json.loads(json.dumps(facts.known())))
    assert again.known() == facts.known()
    assert again == facts


def test_facts_are_immutable() -> None:
    facts = ClinicalFacts(age_years=40)
    with pytest.raises(ValidationError):
        facts.age_years = 50  # type: ignore[misc]


def test_fact_specs_cover_every_fact_with_kind_and_label() -> None:
    assert set(FACT_SPECS) == set(ClinicalFacts.model_fields)
    assert FACT_SPECS["age_years"].kind == "number"
    assert FACT_SPECS["age_years"].unit == "years"
    assert FACT_SPECS["platinum_free_interval_months"].label == "platinum-free interval"
    assert FACT_SPECS["progressed_on_platinum"].kind == "bool"
    assert FACT_SPECS["histology"].kind == "enum"
    assert "borderline" in FACT_SPECS["histology"].choices
