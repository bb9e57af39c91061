"""Prediction-protocol configuration: a versioned YAML file parsed into typed, frozen models.

The trial's reference rate, window and combination rule are not public, so they are data with a
source and an ``assumption`` flag, never constants in code; every result echoes the protocol
version and the assumptions it rests on (docs/protocol/kelim.md § Parameters,
docs/protocol/resection-prediction.md § The combination rule). The file itself is read by
`rescue_prediction.adapters.protocol_files` (`rescue_shared.protocols.ProtocolFiles`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")

RuleCondition = Literal["ago_positive", "imodel_low_risk"]


class GcigOptions(TypedDict):
    """Keyword arguments of ``gcig.assess_gcig_response`` taken from the protocol."""

    uln_u_ml: float
    baseline_window_days: int
    confirmation_days: int
    fall_fraction: float


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Frozen, Generic[T]):
    """A configured value with where it comes from; ``assumption`` if the trial's is not public."""

    value: T
    source: str
    assumption: bool
    note: str | None = None


class PriorConfig(_Frozen):
    """Log-normal population prior on K (MAP fit); off unless ``enabled``."""

    enabled: Sourced[bool]
    typical_k_per_day: Sourced[float]
    iiv_cv: Sourced[float]
    residual_sd_log: Sourced[float]


class KineticsConfig(_Frozen):
    """How the local K estimate is fitted and standardized."""

    k_ref_per_day: Sourced[float]
    window_days: Sourced[float]
    min_points: Sourced[int]
    baseline_lookback_days: Sourced[float]
    prior: PriorConfig

    @field_validator("k_ref_per_day", "window_days")
    @classmethod
    def _positive(cls, v: Sourced[float]) -> Sourced[float]:
        if not v.value > 0:
            raise ValueError("must be > 0")
        return v

    @field_validator("min_points")
    @classmethod
    def _at_least_two(cls, v: Sourced[int]) -> Sourced[int]:
        if v.value < 2:
            raise ValueError("a line needs at least 2 points")
        return v


class GcigConfig(_Frozen):
    """GCIG CA-125 response parameters (ULN default is per lab, overridable per call)."""

    uln_u_ml_default: Sourced[float]
    baseline_window_days: Sourced[int]
    confirmation_days: Sourced[int]
    response_fall_fraction: Sourced[float]


class ClassificationRule(_Frozen):
    """KELIM threshold AND any of the listed score conditions → highly likely complete resection."""

    kelim_standardized_min: float
    require_any_of: tuple[RuleCondition, ...] = Field(min_length=1)
    imodel_max: float
    source: str
    assumption: bool
    note: str | None = None


class PredictionProtocol(_Frozen):
    """One version of the prediction protocol."""

    protocol_version: str
    trial: str
    model_version: str
    kinetics: KineticsConfig
    gcig: GcigConfig
    classification_rule: ClassificationRule

    def assumptions(self) -> tuple[str, ...]:
        """Human-readable list of every configured value flagged as an assumption."""
        found: list[str] = []
        _collect_assumptions(self.model_dump(), "", found)
        rule = self.classification_rule
        if rule.assumption:
            found.append(
                f"classification_rule = KELIM std >= {rule.kelim_standardized_min} AND any of "
                f"{list(rule.require_any_of)} (iMODEL <= {rule.imodel_max}) (assumption)"
            )
        return tuple(found)

    def gcig_kwargs(self, uln_u_ml: float | None = None) -> GcigOptions:
        """Keyword arguments for ``gcig.assess_gcig_response`` (ULN: the lab's, else default)."""
        g = self.gcig
        return {
            "uln_u_ml": g.uln_u_ml_default.value if uln_u_ml is None else uln_u_ml,
            "baseline_window_days": g.baseline_window_days.value,
            "confirmation_days": g.confirmation_days.value,
            "fall_fraction": g.response_fall_fraction.value,
        }

    def kinetics_settings(self) -> KineticsSettings:
        """Flat settings for the K fit, carrying the protocol version and assumptions."""
        k, p = self.kinetics, self.kinetics.prior
        return KineticsSettings(
            protocol_version=self.protocol_version,
            k_ref_per_day=k.k_ref_per_day.value,
            window_days=k.window_days.value,
            min_points=k.min_points.value,
            baseline_lookback_days=k.baseline_lookback_days.value,
            use_prior=p.enabled.value,
            prior_typical_k_per_day=p.typical_k_per_day.value,
            prior_sd_log_k=math.sqrt(math.log1p(p.iiv_cv.value**2)),
            residual_sd_log=p.residual_sd_log.value,
            assumptions=self.assumptions(),
        )


def _collect_assumptions(node: Any, path: str, out: list[str]) -> None:
    if isinstance(node, dict):
        if {"value", "source", "assumption"} <= node.keys():
            if node["assumption"]:
                out.append(f"{path} = {node['value']} (assumption: {node['source'].rstrip('.')})")
            return
        for key, child in node.items():
            _collect_assumptions(child, f"{path}.{key}" if path else key, out)


@dataclass(frozen=True)
class KineticsSettings:
    """Everything the K fit needs, flattened from the protocol (prior SD of ln K derived from
    the CV: sqrt(ln(1 + CV²)))."""

    protocol_version: str
    k_ref_per_day: float
    window_days: float
    min_points: int
    baseline_lookback_days: float
    use_prior: bool
    prior_typical_k_per_day: float
    prior_sd_log_k: float
    residual_sd_log: float
    assumptions: tuple[str, ...] = ()

    def override(self, **changes: Any) -> KineticsSettings:
        """A copy with some values changed; the change is recorded among the assumptions so a
        result never claims protocol values it did not use."""
        notes = tuple(
            f"{name} overridden to {value} (not the protocol value)"
            for name, value in changes.items()
        )
        return dataclasses.replace(self, **changes, assumptions=self.assumptions + notes)


def parse_protocol(data: Mapping[str, Any], name: str = "") -> PredictionProtocol:
    """Validate an already-parsed YAML mapping (`name`: the file it came from, if any)."""
    return PredictionProtocol.model_validate(dict(data))
