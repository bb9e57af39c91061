"""Stratification: configurable factors and the pure derivation of a subject's stratum.

The stratum key ("site=S01|pfi=>12|maintenance=none") is what seeds a stratum's block list, so its
format is frozen: factors in configuration order, `name=level` joined by `|`. Changing factor names,
order or labels mid-trial would change keys and hence allocation lists.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_RESERVED = ("|", "=")


class StratumError(ValueError):
    """The subject cannot be assigned a stratum."""


class MissingFactError(StratumError):
    """A fact needed for a factor is absent: never guessed, never read as "no"."""


class NotRandomizableError(StratumError):
    """A fact places the subject outside every configured level (e.g. PFI < 6 months)."""


def _check_token(value: str, what: str, error: type[ValueError] = ValueError) -> str:
    """Reserved characters would make stratum keys ambiguous."""
    if not value or any(ch in value for ch in _RESERVED):
        raise error(f"{what} {value!r} must be non-empty and contain neither '|' nor '='")
    return value


class Band(BaseModel):
    """A numeric interval mapped to a level label; a missing bound is unbounded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    lower: float | None = None
    upper: float | None = None
    lower_inclusive: bool = True
    upper_inclusive: bool = True

    def contains(self, value: float) -> bool:
        if self.lower is not None and (
            value < self.lower or (value == self.lower and not self.lower_inclusive)
        ):
            return False
        return not (
            self.upper is not None
            and (value > self.upper or (value == self.upper and not self.upper_inclusive))
        )


class CategoricalFactor(BaseModel):
    """Level = the fact's value; `levels=None` accepts any value (e.g. site ids)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["categorical"] = "categorical"
    name: str
    source: str = Field(description="Key of the fact in the subject's clinical facts.")
    levels: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _tokens(self) -> CategoricalFactor:
        _check_token(self.name, "factor name")
        for level in self.levels or ():
            _check_token(level, "level")
        return self

    def level_of(self, value: object) -> str:
        if not isinstance(value, str):
            raise StratumError(f"{self.source}: expected text, got {value!r}")
        if self.levels is not None and value not in self.levels:
            raise NotRandomizableError(f"{self.source}={value!r} not in {list(self.levels)}")
        return _check_token(value, f"{self.source} value", StratumError)


class BandedFactor(BaseModel):
    """Level = the label of the single band containing the numeric fact; none → not randomizable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["banded"] = "banded"
    name: str
    source: str
    bands: tuple[Band, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _disjoint(self) -> BandedFactor:
        _check_token(self.name, "factor name")
        for band in self.bands:
            _check_token(band.label, "band label")
        ordered = sorted(self.bands, key=lambda b: -math.inf if b.lower is None else b.lower)
        for prev, nxt in itertools.pairwise(ordered):
            if (
                prev.upper is None
                or nxt.lower is None
                or prev.upper > nxt.lower
                or (prev.upper == nxt.lower and prev.upper_inclusive and nxt.lower_inclusive)
            ):
                raise ValueError(f"bands {prev.label!r} and {nxt.label!r} overlap")
        return self

    def level_of(self, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise StratumError(f"{self.source}: expected a number, got {value!r}")
        for band in self.bands:
            if band.contains(value):
                return band.label
        raise NotRandomizableError(f"{self.source}={value} is outside every band of {self.name}")


Factor = Annotated[CategoricalFactor | BandedFactor, Field(discriminator="kind")]


def default_factors() -> tuple[CategoricalFactor | BandedFactor, ...]:
    """docs/protocol/randomization.md § Strata: site, PFI 6-12 vs >12 months (<6 not
    randomizable), planned maintenance."""
    return (
        CategoricalFactor(name="site", source="site_id"),
        BandedFactor(
            name="pfi",
            source="pfi_months",
            bands=(
                Band(label="6-12", lower=6, upper=12),
                Band(label=">12", lower=12, lower_inclusive=False),
            ),
        ),
        CategoricalFactor(
            name="maintenance",
            source="planned_maintenance",
            levels=("parp_inhibitor", "bevacizumab", "none"),
        ),
    )


class StrataConfig(BaseModel):
    """Ordered stratification factors (order fixes the stratum key)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    factors: tuple[Factor, ...] = Field(default_factory=default_factors, min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> StrataConfig:
        names = [f.name for f in self.factors]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate factor names in {names}")
        return self

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)


@dataclass(frozen=True)
class Stratum:
    """A subject's level per factor (configuration order) and the stable key built from them."""

    levels: dict[str, str]
    key: str


def stratum_key(levels: Mapping[str, str]) -> str:
    """`name=level|...` in the mapping's order (pass levels in configuration order)."""
    return "|".join(f"{name}={level}" for name, level in levels.items())


def parse_stratum_key(key: str) -> dict[str, str]:
    """Inverse of `stratum_key` (levels never contain '|' or '=')."""
    return dict(part.split("=", 1) for part in key.split("|"))


def derive_stratum(facts: Mapping[str, object], config: StrataConfig | None = None) -> Stratum:
    """Map clinical facts to a stratum; raises `MissingFactError` / `NotRandomizableError`."""
    config = config or StrataConfig()
    levels: dict[str, str] = {}
    for factor in config.factors:
        if facts.get(factor.source) is None:
            raise MissingFactError(f"fact {factor.source!r} is required for factor {factor.name!r}")
        levels[factor.name] = factor.level_of(facts[factor.source])
    return Stratum(levels=levels, key=stratum_key(levels))
