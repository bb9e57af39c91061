"""Complete-resection classification: every branch of the configured rule."""

import pytest

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.classification import classify_resection, predict_resection
from rescue_prediction.domain.kelim import OfficialKelim, select_kelim
from rescue_prediction.domain.kinetics import KineticPoint
from rescue_prediction.domain.protocol import parse_protocol
from rescue_prediction.domain.scores import ago_score, imodel_score

PROTOCOL = load_protocol()
S = PROTOCOL.kinetics_settings()
FAST = [KineticPoint(day=d, value_u_ml=v) for d, v in [(0, 1000), (21, 349.938), (42, 122.456)]]
SLOW = [KineticPoint(day=d, value_u_ml=v) for d, v in [(0, 1000), (21, 800), (42, 640)]]

AGO_POS = {
    "ecog": 0,
    "ascites_ml": 0,
    "residual_disease_primary_surgery": "none",
    "figo_stage_initial": "IIIC",
    "platinum_free_interval_months": 20,
    "ca125_at_recurrence_u_ml": 300,
}  # iMODEL 0.8 + 1.8 = 2.6: low risk too
BOTH_BAD = {
    "ecog": 2,
    "ascites_ml": 800,
    "residual_disease_primary_surgery": ">=1cm",
    "figo_stage_initial": "IVA",
    "platinum_free_interval_months": 8,
    "ca125_at_recurrence_u_ml": 300,
}
IMODEL_LOW_AGO_NEG = {**AGO_POS, "ecog": 1}


def official(value: float) -> OfficialKelim:
    return OfficialKelim(value=value, source="biomarker-kinetics.org", version="v1")


def test_highly_likely_with_local_kelim_and_both_scores() -> None:
    r = predict_resection(AGO_POS, PROTOCOL, ca125_points=FAST)
    assert r.classification == "highly_likely_complete_resection"
    assert r.kelim.source == "local_estimate" and r.missing == ()
    assert r.reasons[0].startswith("local log-linear estimate of K (not the official KELIM)")
    assert r.protocol_version == "prediction-v1" and r.model_version == "local-loglinear-1"
    assert any("k_ref_per_day" in a for a in r.assumptions)


def test_imodel_alone_is_enough() -> None:
    r = predict_resection(IMODEL_LOW_AGO_NEG, PROTOCOL, ca125_points=FAST)
    assert r.ago.status == "negative"
    assert r.classification == "highly_likely_complete_resection"


def test_kelim_exactly_at_threshold_counts() -> None:
    r = predict_resection(AGO_POS, PROTOCOL, official_kelim=official(1.0))
    assert r.classification == "highly_likely_complete_resection"


def test_unfavorable_kelim_is_not_highly_likely() -> None:
    r = predict_resection(AGO_POS, PROTOCOL, ca125_points=SLOW)
    assert r.classification == "not_highly_likely"
    assert "< 1" in r.reasons[0]


def test_official_kelim_overrides_local() -> None:
    r = predict_resection(AGO_POS, PROTOCOL, ca125_points=FAST, official_kelim=official(0.9))
    assert r.kelim.source == "official_calculator"
    assert r.classification == "not_highly_likely"


def test_both_scores_unfavorable_is_not_highly_likely() -> None:
    r = predict_resection(BOTH_BAD, PROTOCOL, ca125_points=FAST)
    assert r.classification == "not_highly_likely"
    assert any(s.startswith("AGO score negative") for s in r.reasons)
    assert any("high risk" in s for s in r.reasons)


def test_no_kelim_yet_is_insufficient() -> None:
    r = predict_resection(AGO_POS, PROTOCOL)
    assert r.classification == "insufficient_data"
    assert r.missing == (
        "KELIM: no official value stored and no local estimate (no CA-125 series supplied)",
    )


def test_too_few_points_is_insufficient_with_reason() -> None:
    r = predict_resection(AGO_POS, PROTOCOL, ca125_points=FAST[:2])
    assert r.classification == "insufficient_data"
    assert "needs >= 3 CA-125 values" in r.missing[0]


def test_no_kelim_but_both_scores_unfavorable_is_decided() -> None:
    """Kleene AND: a failed part decides the outcome even while KELIM is still missing."""
    assert predict_resection(BOTH_BAD, PROTOCOL).classification == "not_highly_likely"


def test_both_scores_unknown_with_favorable_kelim_is_insufficient() -> None:
    r = predict_resection({"ecog": 0}, PROTOCOL, ca125_points=FAST)
    assert r.classification == "insufficient_data"
    assert r.missing[0].startswith("AGO score unknown: missing ascites_ml")
    assert r.missing[1].startswith("iMODEL 0-9.5 (missing figo_stage_initial")


def test_one_score_unknown_other_favorable_is_enough() -> None:
    no_ca125 = {k: v for k, v in AGO_POS.items() if k != "ca125_at_recurrence_u_ml"}
    r = predict_resection(
        {**no_ca125, "ascites_ml": 10.0, "ecog": 0}, PROTOCOL, ca125_points=FAST
    )  # AGO positive; iMODEL 3.8 known, up to 5.6
    assert (r.ago.status, r.imodel.status) == ("positive", "unknown")
    assert r.classification == "highly_likely_complete_resection"
    facts = {**AGO_POS, "ecog": None, "ca125_at_recurrence_u_ml": 50}  # iMODEL 0.8, up to 3.2
    r = predict_resection(facts, PROTOCOL, ca125_points=FAST)
    assert (r.ago.status, r.imodel.status) == ("unknown", "low_risk")
    assert r.classification == "highly_likely_complete_resection"


def test_both_scores_undecided_is_insufficient() -> None:
    no_ca125 = {k: v for k, v in AGO_POS.items() if k != "ca125_at_recurrence_u_ml"}
    r = predict_resection(
        {**no_ca125, "ascites_ml": 10.0, "ecog": None}, PROTOCOL, ca125_points=FAST
    )
    assert (r.ago.status, r.imodel.status) == ("unknown", "unknown")
    assert r.classification == "insufficient_data" and len(r.missing) == 2


def test_rule_is_data() -> None:
    data = PROTOCOL.model_dump()
    data["classification_rule"].update(
        require_any_of=["ago_positive"], imodel_max=2.0, kelim_standardized_min=1.5
    )
    strict = parse_protocol(data)
    kelim = select_kelim(None, official(1.4), S)
    r = classify_resection(kelim, ago_score(AGO_POS), imodel_score(AGO_POS), strict)
    assert r.classification == "not_highly_likely" and "< 1.5" in r.reasons[0]
    kelim = select_kelim(None, official(1.6), S)
    r = classify_resection(kelim, ago_score(IMODEL_LOW_AGO_NEG), imodel_score(AGO_POS), strict)
    assert r.classification == "not_highly_likely"  # iMODEL not part of this rule


@pytest.mark.parametrize("cut", [2.6, 2.5])
def test_rule_imodel_cut_off_applies(cut: float) -> None:
    data = PROTOCOL.model_dump()
    data["classification_rule"].update(require_any_of=["imodel_low_risk"], imodel_max=cut)
    r = predict_resection(AGO_POS, parse_protocol(data), official_kelim=official(1.2))
    expected = "highly_likely_complete_resection" if cut == 2.6 else "not_highly_likely"
    assert r.classification == expected
