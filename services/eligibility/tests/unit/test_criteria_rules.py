"""The rule language: operators, three-valued all/any, reasons, and load-time validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from rescue_eligibility.domain.criteria import AllOf, AnyOf, Condition, Rule
from rescue_eligibility.domain.facts import FactValue

RULE: TypeAdapter[Any] = TypeAdapter(Rule)


def _rule(data: dict[str, Any]) -> Rule:
    rule: Rule = RULE.validate_python(data)
    return rule


def _holds(data: dict[str, Any], facts: dict[str, FactValue]) -> bool | None:
    return _rule(data).evaluate(facts).holds


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("==", 1, 1, True),
        ("==", 1, 2, False),
        ("!=", 1, 2, True),
        ("!=", 1, 1, False),
        (">=", 6, 6.0, True),
        (">=", 6, 5.99, False),
        (">", 1, 2, True),
        (">", 1, 1, False),
        ("<=", 1, 1, True),
        ("<=", 1, 2, False),
        ("<", 6, 5.99, True),
        ("<", 6, 6.0, False),
    ],
)
def test_numeric_operators(op: str, value: float, actual: float, expected: bool) -> None:
    rule = {"fact": "platinum_free_interval_months", "op": op, "value": value}
    assert _holds(rule, {"platinum_free_interval_months": actual}) is expected


@pytest.mark.parametrize(
    ("op", "actual", "expected"),
    [("in", "SD", True), ("in", "PD", False), ("not_in", "PD", True), ("not_in", "CR", False)],
)
def test_membership_operators(op: str, actual: str, expected: bool) -> None:
    rule = {"fact": "nact_response_recist", "op": op, "value": ["CR", "PR", "SD"]}
    assert _holds(rule, {"nact_response_recist": actual}) is expected


@pytest.mark.parametrize(
    ("op", "actual", "expected"),
    [
        ("is_true", True, True),
        ("is_true", False, False),
        ("is_true", None, False),
        ("is_false", False, True),
        ("is_false", True, False),
        ("is_false", None, False),
    ],
)
def test_boolean_operators(op: str, actual: bool | None, expected: bool) -> None:
    rule = {"fact": "nact_response_gcig_ca125", "op": op}
    assert _holds(rule, {"nact_response_gcig_ca125": actual}) is expected


def test_enum_equality() -> None:
    rule = {"fact": "histology", "op": "==", "value": "borderline"}
    assert _holds(rule, {"histology": "borderline"}) is True
    assert _holds(rule, {"histology": "mucinous"}) is False


def test_equality_with_null_for_not_evaluable() -> None:
    rule = {"fact": "nact_response_gcig_ca125", "op": "==", "value": None}
    assert _holds(rule, {"nact_response_gcig_ca125": None}) is True
    assert _holds(rule, {"nact_response_gcig_ca125": False}) is False


@pytest.mark.parametrize("op", ["==", "!=", ">=", "<", "in", "not_in", "is_true", "is_false"])
def test_missing_fact_is_unknown_never_false(op: str) -> None:
    fact, value = {
        "in": ("recurrence_number", [1]), "not_in": ("recurrence_number", [1]),
        "is_true": ("palliative_surgery_only", None), "is_false": ("palliative_surgery_only", None),
    }.get(op, ("recurrence_number", 1))
    rule: dict[str, Any] = {"fact": fact, "op": op}
    if value is not None:
        rule["value"] = value
    verdict = _rule(rule).evaluate({})
    assert verdict.holds is None
    assert verdict.missing == (fact,)


T, F, U = True, False, None
_KLEENE = [(T, T), (T, F), (T, U), (F, F), (F, U), (U, U)]


def _leaf(truth: bool | None, name: str) -> tuple[dict[str, Any], dict[str, FactValue]]:
    rule = {"fact": name, "op": "is_true"}
    return rule, ({} if truth is None else {name: truth})


@pytest.mark.parametrize(("a", "b"), _KLEENE)
def test_all_and_any_are_kleene(a: bool | None, b: bool | None) -> None:
    ra, fa = _leaf(a, "palliative_surgery_only")
    rb, fb = _leaf(b, "unresectable_disease_on_imaging")
    facts = fa | fb
    expected_all = F if F in (a, b) else U if U in (a, b) else T
    expected_any = T if T in (a, b) else U if U in (a, b) else F
    for first, second in ((ra, rb), (rb, ra)):
        assert _holds({"all": [first, second]}, facts) is expected_all
        assert _holds({"any": [first, second]}, facts) is expected_any


def test_missing_facts_reported_only_when_they_matter() -> None:
    rule = _rule({"any": [
        {"fact": "progressed_on_platinum", "op": "is_true"},
        {"fact": "platinum_free_interval_months", "op": "<", "value": 6},
    ]})
    assert rule.evaluate({"progressed_on_platinum": True}).missing == ()
    undecided = rule.evaluate({"progressed_on_platinum": False})
    assert undecided.holds is None
    assert undecided.missing == ("platinum_free_interval_months",)


def test_nesting() -> None:
    rule = _rule({"all": [
        {"fact": "age_years", "op": ">=", "value": 19},
        {"any": [
            {"fact": "nact_response_recist", "op": "in", "value": ["CR", "PR"]},
            {"all": [{"fact": "ecog", "op": "<=", "value": 1},
                     {"fact": "ascites_ml", "op": "<", "value": 500}]},
        ]},
    ]})
    assert isinstance(rule, AllOf)
    assert isinstance(rule.all[1], AnyOf)
    assert rule.facts() == ("age_years", "nact_response_recist", "ecog", "ascites_ml")
    facts: dict[str, FactValue] = {"age_years": 40, "nact_response_recist": "SD", "ecog": 0}
    assert rule.evaluate(facts).holds is None
    assert rule.evaluate(facts | {"ascites_ml": 100.0}).holds is True
    assert rule.evaluate(facts | {"ascites_ml": 600.0}).holds is False


def test_reasons_cite_values_with_the_operator_that_actually_holds() -> None:
    rule = _rule({"fact": "platinum_free_interval_months", "op": ">=", "value": 6})
    assert rule.evaluate({"platinum_free_interval_months": 5.9}).reasons == (
        "platinum-free interval 5.9 months < 6 months",
    )
    assert rule.evaluate({"platinum_free_interval_months": 6.0}).reasons == (
        "platinum-free interval 6 months >= 6 months",
    )
    assert rule.evaluate({}).reasons == ("platinum-free interval: missing",)


def test_reasons_for_membership_and_booleans() -> None:
    listed = _rule({"fact": "nact_response_recist", "op": "in", "value": ["CR", "PR"]})
    assert listed.evaluate({"nact_response_recist": "PD"}).reasons == (
        "RECIST 1.1 response PD not in [CR, PR]",
    )
    named = _rule({"fact": "histology", "op": "in", "value": ["mucinous"],
                   "value_label": "epithelial"})
    assert named.evaluate({"histology": "borderline"}).reasons == (
        "histology borderline is not epithelial",
    )
    flag = _rule({"fact": "nact_response_gcig_ca125", "op": "is_true"})
    assert flag.evaluate({"nact_response_gcig_ca125": None}).reasons == (
        "GCIG CA-125 response: not evaluable",
    )
    assert flag.evaluate({"nact_response_gcig_ca125": False}).reasons == (
        "GCIG CA-125 response: no",
    )


def test_reasons_keep_only_the_deciding_parts() -> None:
    rule = _rule({"all": [
        {"fact": "age_years", "op": ">=", "value": 19},
        {"fact": "recurrence_number", "op": "==", "value": 1},
    ]})
    verdict = rule.evaluate({"age_years": 40, "recurrence_number": 2})
    assert verdict.reasons == ("recurrence number 2 != 1",)
    assert dict(verdict.used) == {"recurrence_number": 2}


@pytest.mark.parametrize(
    "data",
    [
        {"fact": "agee_years", "op": ">=", "value": 19},
        {"fact": "__import__('os').system('true')", "op": "is_true"},
        {"fact": "age_years", "op": "=~", "value": 19},
        {"fact": "age_years", "op": ">=", "value": "19"},
        {"fact": "age_years", "op": ">=", "value": True},
        {"fact": "age_years", "op": ">="},
        {"fact": "age_years", "op": "==", "value": None},
        {"fact": "age_years", "op": "in", "value": 19},
        {"fact": "age_years", "op": "in", "value": []},
        {"fact": "age_years", "op": "==", "value": [19]},
        {"fact": "age_years", "op": "is_true"},
        {"fact": "histology", "op": "in", "value": ["borderlin"]},
        {"fact": "histology", "op": ">", "value": "borderline"},
        {"fact": "figo_stage_initial", "op": ">=", "value": "III"},
        {"fact": "palliative_surgery_only", "op": "is_true", "value": True},
        {"fact": "palliative_surgery_only", "op": "==", "value": 1},
        {"fact": "age_years", "op": ">=", "value": 19, "unit": "years"},
        {"all": []},
        {"any": []},
        {"all": [{"fact": "age_years", "op": ">=", "value": 19}],
         "any": [{"fact": "ecog", "op": "<=", "value": 1}]},
        {"none": [{"fact": "age_years", "op": ">=", "value": 19}]},
    ],
)
def test_invalid_rules_are_rejected_at_load(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _rule(data)


def test_condition_is_immutable() -> None:
    condition = Condition(fact="age_years", op=">=", value=19)
    with pytest.raises(ValidationError):
        condition.value = 18
