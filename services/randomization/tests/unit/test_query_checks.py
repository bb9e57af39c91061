"""Randomization's automatic data-query check: the screening's PFI against the PFI band the
subject was randomized in."""

from __future__ import annotations

from rescue_randomization.domain.query_checks import banded_factor_disagreements
from rescue_randomization.domain.strata import StrataConfig

STRATUM = {"site": "S01", "pfi": "6-12", "maintenance": "none"}


def test_a_pfi_outside_the_randomized_band_is_found_and_a_matching_one_is_not() -> None:
    config = StrataConfig()
    assert banded_factor_disagreements("S01-0001", STRATUM, {"pfi_months": 9.5}, config) == []
    assert banded_factor_disagreements("S01-0001", STRATUM, {}, config) == []
    (finding,) = banded_factor_disagreements("S01-0001", STRATUM, {"pfi_months": 14}, config)
    assert (finding.check, finding.field) == ("pfi_band_vs_screening", "pfi")
    assert "'>12'" in finding.message and "'6-12'" in finding.message
    (outside,) = banded_factor_disagreements("S01-0001", STRATUM, {"pfi_months": 3}, config)
    assert "outside every band" in outside.message
