"""Automatic checks of randomization's data that open data queries (docs/data-queries.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rescue_randomization.domain.strata import BandedFactor, StrataConfig, StratumError
from rescue_shared.queries.lifecycle import Finding

PFI_BAND_VS_SCREENING = "pfi_band_vs_screening"


def banded_factor_disagreements(
    subject_id: str, stratum: Mapping[str, str], facts: Mapping[str, Any],
    config: StrataConfig,
) -> list[Finding]:
    """Each banded factor (the PFI band) whose level in the allocation's stratum is not the band
    of the latest screening's value, e.g. a PFI re-screened as 14 months in the "6-12" band."""
    findings = []
    for factor in config.factors:
        if not isinstance(factor, BandedFactor) or factor.name not in stratum:
            continue
        value = facts.get(factor.source)
        if value is None:
            continue
        try:
            level = factor.level_of(value)
        except StratumError:
            level = "outside every band"
        if level != stratum[factor.name]:
            findings.append(Finding(
                f"{factor.name}_band_vs_screening", subject_id, factor.name,
                f"the screening's {factor.source} = {value} is in band {level!r}, but the "
                f"subject was randomized in {factor.name} = {stratum[factor.name]!r}"))
    return findings
