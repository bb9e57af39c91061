"""Choosing the KELIM: official calculator first, local estimate labelled as such."""

import pytest

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.kelim import OfficialKelim, select_kelim
from rescue_prediction.domain.kinetics import KineticPoint, fit_k

S = load_protocol().kinetics_settings()
LOCAL = fit_k(
    [KineticPoint(day=d, value_u_ml=v) for d, v in [(0, 1000), (21, 349.938), (42, 122.456)]], S
)
TOO_FEW = fit_k([KineticPoint(day=0, value_u_ml=1000)], S)
OFFICIAL = OfficialKelim(value=0.8, source="biomarker-kinetics.org", version="2024.1")


def test_official_takes_precedence_and_is_labelled() -> None:
    k = select_kelim(LOCAL, OFFICIAL, S)
    assert k.source == "official_calculator"
    assert k.standardized == 0.8 and k.favorable is False and k.k_per_day is None
    assert "official calculator" in k.label and "2024.1" in k.label
    assert k.local is LOCAL and any("superseded" in r for r in k.reasons)
    assert k.protocol_version == "prediction-v1"


def test_official_per_day_is_standardized_by_k_ref() -> None:
    official = OfficialKelim(value=0.0407, scale="per_day", source="calc", version="1")
    k = select_kelim(None, official, S)
    assert k.k_per_day == 0.0407
    assert k.standardized == pytest.approx(1.1) and k.favorable


def test_local_estimate_when_no_official() -> None:
    k = select_kelim(LOCAL, None, S)
    assert k.source == "local_estimate"
    assert k.label == "local log-linear estimate of K (not the official KELIM)"
    assert k.k_per_day == LOCAL.k_per_day and k.standardized == LOCAL.standardized
    assert k.favorable is True


def test_no_kelim_says_what_is_missing() -> None:
    k = select_kelim(TOO_FEW, None, S)
    assert k.source is None and k.standardized is None
    assert "needs >= 3 CA-125 values" in k.missing
    assert "no CA-125 series" in select_kelim(None, None, S).missing


def test_official_used_even_when_local_is_insufficient() -> None:
    assert select_kelim(TOO_FEW, OFFICIAL, S).source == "official_calculator"
