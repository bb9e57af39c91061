"""Stratum derivation from clinical facts and the stable stratum key."""

import pytest
from pydantic import ValidationError

from rescue_randomization.domain.strata import (
    Band,
    BandedFactor,
    CategoricalFactor,
    MissingFactError,
    NotRandomizableError,
    StrataConfig,
    StratumError,
    derive_stratum,
    parse_stratum_key,
)


def facts(**overrides: object) -> dict[str, object]:
    return {"site_id": "S01", "pfi_months": 14, "planned_maintenance": "none"} | overrides


def test_default_key_format() -> None:
    stratum = derive_stratum(facts())
    assert stratum.levels == {"site": "S01", "pfi": ">12", "maintenance": "none"}
    assert stratum.key == "site=S01|pfi=>12|maintenance=none"
    assert parse_stratum_key(stratum.key) == stratum.levels


@pytest.mark.parametrize(
    ("pfi", "band"), [(6, "6-12"), (6.0, "6-12"), (9.5, "6-12"), (12, "6-12"), (12.01, ">12")]
)
def test_pfi_bands(pfi: float, band: str) -> None:
    assert derive_stratum(facts(pfi_months=pfi)).levels["pfi"] == band


@pytest.mark.parametrize("pfi", [5.99, 0, -1])
def test_pfi_below_six_months_is_not_randomizable(pfi: float) -> None:
    with pytest.raises(NotRandomizableError):
        derive_stratum(facts(pfi_months=pfi))


@pytest.mark.parametrize("missing", ["site_id", "pfi_months", "planned_maintenance"])
def test_missing_fact_is_an_error_not_a_default(missing: str) -> None:
    with pytest.raises(MissingFactError, match=missing):
        derive_stratum(facts(**{missing: None}))


@pytest.mark.parametrize(
    "bad",
    [
        {"planned_maintenance": "olaparib"},
        {"pfi_months": "14"},
        {"pfi_months": True},
        {"pfi_months": float("nan")},
        {"site_id": "S|01"},
    ],
)
def test_invalid_values_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(StratumError):
        derive_stratum(facts(**bad))


def test_all_maintenance_levels() -> None:
    for level in ("parp_inhibitor", "bevacizumab", "none"):
        assert derive_stratum(facts(planned_maintenance=level)).levels["maintenance"] == level


def test_configurable_factors_order_and_bands() -> None:
    config = StrataConfig.model_validate(
        {
            "factors": [
                {
                    "kind": "banded",
                    "name": "pfi",
                    "source": "pfi_months",
                    "bands": [
                        {"label": "lt18", "lower": 6, "upper": 18, "upper_inclusive": False},
                        {"label": "ge18", "lower": 18},
                    ],
                },
                {"kind": "categorical", "name": "site", "source": "site_id"},
            ]
        }
    )
    assert derive_stratum(facts(pfi_months=18), config).key == "pfi=ge18|site=S01"


def test_overlapping_bands_and_duplicate_factors_rejected() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        BandedFactor(
            name="x", source="x", bands=(Band(label="a", upper=5), Band(label="b", lower=5))
        )
    site = CategoricalFactor(name="site", source="site_id")
    with pytest.raises(ValidationError, match="duplicate"):
        StrataConfig(factors=(site, site))
