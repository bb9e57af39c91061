"""Protocol YAML → typed configuration."""

import math

import pytest
from pydantic import ValidationError

from rescue_prediction.adapters.protocol_files import load_protocol
from rescue_prediction.domain.protocol import parse_protocol


def test_v1_loads_with_sources_and_assumptions() -> None:
    p = load_protocol("1")
    assert p.protocol_version == "prediction-v1"
    assert p.kinetics.window_days.value == 50 and p.kinetics.window_days.assumption
    assert p.kinetics.k_ref_per_day.assumption and "CALYPSO" in p.kinetics.k_ref_per_day.source
    assert p.kinetics.min_points.value == 3
    assert p.kinetics.prior.enabled.value is False
    rule = p.classification_rule
    assert (rule.kelim_standardized_min, rule.require_any_of, rule.imodel_max) == (
        1.0,
        ("ago_positive", "imodel_low_risk"),
        4.7,
    )
    assumptions = p.assumptions()
    assert any(a.startswith("kinetics.k_ref_per_day = 0.037") for a in assumptions)
    assert any(a.startswith("kinetics.window_days = 50") for a in assumptions)
    assert not any("typical_k_per_day" in a for a in assumptions)  # published, not assumed


def test_settings_derive_prior_sd_and_record_overrides() -> None:
    s = load_protocol().kinetics_settings()
    assert s.prior_sd_log_k == pytest.approx(math.sqrt(math.log(1 + 0.636**2)))
    assert s.prior_sd_log_k == pytest.approx(0.5828, abs=1e-4)
    o = s.override(window_days=70)
    assert o.window_days == 70 and s.window_days == 50
    assert o.assumptions[-1] == "window_days overridden to 70 (not the protocol value)"


@pytest.mark.parametrize("version", ["../etc/passwd", "", "nope"])
def test_bad_or_unknown_versions(version: str) -> None:
    with pytest.raises((ValueError, FileNotFoundError)):
        load_protocol(version)


def test_unknown_rule_condition_rejected() -> None:
    data = load_protocol().model_dump()
    data["classification_rule"]["require_any_of"] = ["ago_positive", "coin_flip"]
    with pytest.raises(ValidationError):
        parse_protocol(data)
