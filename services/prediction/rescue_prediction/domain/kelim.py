"""Which KELIM a prediction uses: the official calculator's when stored, else the local estimate.

The official calculator (biomarker-kinetics.org) fits a population model whose parameters are not
published, so its value takes precedence over our transparent local estimate; each is labelled
for what it is, and the local one is never called KELIM without qualification.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rescue_prediction.domain.kinetics import FAVORABLE_STANDARDIZED_MIN, KineticsResult
from rescue_prediction.domain.protocol import KineticsSettings

# Same order as the event contract: typing caches equal Literals (order ignored), so whichever
# order is created first would otherwise decide the exported JSON Schema.
KelimSource = Literal["local_estimate", "official_calculator"]


class OfficialKelim(BaseModel):
    """A KELIM from the official calculator, with provenance.

    ``scale``: the calculator reports the standardized KELIM score (default); "per_day" is for a
    raw K that is then standardized by the protocol's K_ref.
    """

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)

    value: float
    scale: Literal["standardized", "per_day"] = "standardized"
    source: str = Field(min_length=1, description="e.g. 'biomarker-kinetics.org'")
    version: str = Field(min_length=1, description="calculator/model version reported by it")
    computed_on: date | None = None


class SelectedKelim(BaseModel):
    """The KELIM the classification uses (or why there is none), labelled by source."""

    model_config = ConfigDict(frozen=True)

    source: KelimSource | None
    label: str
    k_per_day: float | None = None
    standardized: float | None = None
    favorable: bool | None = None
    official: OfficialKelim | None = None
    local: KineticsResult | None = None
    missing: str | None = None
    reasons: tuple[str, ...] = ()
    protocol_version: str
    assumptions: tuple[str, ...] = ()


def select_kelim(
    local: KineticsResult | None, official: OfficialKelim | None, settings: KineticsSettings
) -> SelectedKelim:
    """Official value if present, else a local estimate with status "estimated", else none."""
    meta = {
        "local": local,
        "official": official,
        "protocol_version": settings.protocol_version,
        "assumptions": settings.assumptions,
    }
    if official is not None:
        if official.scale == "standardized":
            k, std = None, official.value
        else:
            k, std = official.value, official.value / settings.k_ref_per_day
        reasons = [f"official KELIM from {official.source} (version {official.version}) used"]
        if local is not None and local.status == "estimated":
            reasons.append(
                f"local log-linear estimate (standardized {local.standardized:.3g}) superseded"
            )
        return SelectedKelim(
            source="official_calculator",
            label=f"KELIM (official calculator: {official.source}, version {official.version})",
            k_per_day=k,
            standardized=std,
            favorable=std >= FAVORABLE_STANDARDIZED_MIN,
            reasons=tuple(reasons),
            **meta,
        )
    if local is not None and local.status == "estimated":
        return SelectedKelim(
            source="local_estimate",
            label=f"{local.method} of K (not the official KELIM)",
            k_per_day=local.k_per_day,
            standardized=local.standardized,
            favorable=local.favorable,
            reasons=(
                f"no official KELIM stored; local log-linear estimate K = {local.k_per_day:.4g}"
                f"/day, K/K_ref = {local.standardized:.3g} (K_ref {local.k_ref_per_day:g}/day)",
            ),
            **meta,
        )
    why = local.missing if local is not None else "no CA-125 series supplied"
    return SelectedKelim(
        source=None,
        label="no KELIM",
        missing=f"KELIM: no official value stored and no local estimate ({why})",
        **meta,
    )
