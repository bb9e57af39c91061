"""AGO score and iMODEL: items, boundaries and missing facts."""

import pytest
from pydantic import ValidationError

from rescue_prediction.domain.scores import ago_score, imodel_score

AGO_POS = {"ecog": 0, "ascites_ml": 0, "residual_disease_primary_surgery": "none"}


def test_ago_positive_ignores_unrelated_facts() -> None:
    assert ago_score({**AGO_POS, "age_years": 60}).status == "positive"


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        ({"ecog": 1}, "ECOG 1 (needs 0)"),
        ({"ascites_ml": 500}, "ascites 500 mL (needs < 500 mL)"),
        (
            {"residual_disease_primary_surgery": "<1cm"},
            "residual disease after primary surgery <1cm (needs none)",
        ),
    ],
)
def test_ago_negative_names_failing_item(change: dict, failing: str) -> None:
    r = ago_score({**AGO_POS, **change})
    assert r.status == "negative" and r.failing == (failing,)


def test_ago_ascites_just_below_limit_is_positive() -> None:
    assert ago_score({**AGO_POS, "ascites_ml": 499.9}).status == "positive"


def test_ago_missing_gives_unknown_with_what_is_missing() -> None:
    r = ago_score({"ecog": 0, "residual_disease_primary_surgery": "unknown"})
    assert r.status == "unknown"
    assert r.missing == ("ascites_ml", "residual_disease_primary_surgery")


def test_ago_failing_item_decides_despite_missing() -> None:
    r = ago_score({"ecog": 2})
    assert r.status == "negative" and len(r.missing) == 2


LOW = {
    "figo_stage_initial": "IIIC",
    "residual_disease_primary_surgery": "<1cm",
    "platinum_free_interval_months": 12.0,
    "ecog": 1,
    "ca125_at_recurrence_u_ml": 105.0,
    "ascites_ml": 0.0,
}


def test_imodel_exactly_4_7_is_low_risk() -> None:
    r = imodel_score(LOW)
    assert r.total == 4.7 and r.status == "low_risk"
    assert [i.points for i in r.items] == [0.8, 1.5, 2.4, 0.0, 0.0, 0.0]


def test_imodel_item_boundaries() -> None:
    assert imodel_score({**LOW, "ca125_at_recurrence_u_ml": 105.1}).total == 6.5
    assert imodel_score({**LOW, "platinum_free_interval_months": 16.0}).total == 2.3
    assert imodel_score({**LOW, "ecog": 2}).total == 7.1
    assert imodel_score({**LOW, "ascites_ml": 1}).status == "high_risk"
    assert imodel_score({**LOW, "figo_stage_initial": "IIB"}).total == 3.9
    assert imodel_score({**LOW, "residual_disease_primary_surgery": "none"}).total == 3.2


def test_imodel_maximum_total() -> None:
    worst = {
        "figo_stage_initial": "IVB",
        "residual_disease_primary_surgery": ">=1cm",
        "platinum_free_interval_months": 7,
        "ecog": 3,
        "ca125_at_recurrence_u_ml": 900,
        "ascites_ml": 1000,
    }
    assert imodel_score(worst).total == 11.9


def test_imodel_missing_is_unknown_unless_decided() -> None:
    r = imodel_score({k: v for k, v in LOW.items() if k != "ca125_at_recurrence_u_ml"})
    assert r.status == "unknown" and r.total is None
    assert r.missing == ("ca125_at_recurrence_u_ml",)
    assert (r.known_points, r.max_possible_points) == (4.7, 6.5)
    high = imodel_score({"ascites_ml": 100, "ecog": 2})  # 5.4 known > 4.7
    assert high.status == "high_risk" and high.total is None
    low = imodel_score({**LOW, "figo_stage_initial": None, "platinum_free_interval_months": 20})
    assert low.status == "low_risk" and low.max_possible_points == 2.3


def test_imodel_cut_off_is_configurable() -> None:
    assert imodel_score(LOW, low_risk_max=4.6).status == "high_risk"


def test_bad_figo_stage_rejected() -> None:
    with pytest.raises(ValidationError):
        imodel_score({"figo_stage_initial": "V"})
    assert imodel_score({"figo_stage_initial": " iiic "}).items[0].points == 0.8
