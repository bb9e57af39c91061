"""Allocation schemes as configuration (one versioned file per protocol version, never code).

All schemes allocate 1:1 between the two arms of `arms.ARMS`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rescue_randomization.domain.arms import ARMS
from rescue_randomization.domain.strata import StrataConfig


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PermutedBlockConfig(_Config):
    """Stratified permuted blocks; each block's size is drawn uniformly from `block_sizes`.

    Varying sizes stop staff from deducing the last allocations of a block in an open-label trial.
    """

    scheme: Literal["permuted_blocks"] = "permuted_blocks"
    block_sizes: tuple[int, ...] = Field((2, 4, 6), min_length=1)

    @field_validator("block_sizes")
    @classmethod
    def _balanced_sizes(cls, sizes: tuple[int, ...]) -> tuple[int, ...]:
        if len(set(sizes)) != len(sizes):
            raise ValueError("block sizes must be distinct")
        if any(size <= 0 or size % len(ARMS) for size in sizes):
            raise ValueError(f"block sizes must be positive multiples of {len(ARMS)} (1:1)")
        return sizes


class MinimizationConfig(_Config):
    """Pocock-Simon minimization over marginal factor totals with a biased coin.

    Imbalance measure: "range" (max - min count over arms at the subject's level; with two arms
    |n_A - n_B|, the usual and easiest to explain) or "variance" of those counts.
    """

    scheme: Literal["minimization"] = "minimization"
    factors: tuple[str, ...] = Field(("site", "pfi", "maintenance"), min_length=1)
    weights: dict[str, float] | None = Field(None, description="None = equal weights (1.0).")
    p_preferred: float = Field(
        0.85, gt=0.5, le=1.0, description="Probability of the arm minimizing imbalance."
    )
    imbalance: Literal["range", "variance"] = "range"

    @model_validator(mode="after")
    def _weights(self) -> MinimizationConfig:
        if len(set(self.factors)) != len(self.factors):
            raise ValueError("minimization factors must be distinct")
        if self.weights is not None:
            if set(self.weights) != set(self.factors):
                raise ValueError("weights must name exactly the minimization factors")
            if any(w <= 0 for w in self.weights.values()):
                raise ValueError("weights must be positive")
        return self

    def weight(self, factor: str) -> float:
        return 1.0 if self.weights is None else self.weights[factor]


class BigStickConfig(_Config):
    """Big-stick design (Soares & Wu 1983): fair coin until the stratum imbalance hits the cap."""

    scheme: Literal["big_stick"] = "big_stick"
    max_imbalance: int = Field(3, ge=1, description="Maximum tolerated |n_A - n_B| per stratum.")


SchemeConfig = Annotated[
    PermutedBlockConfig | MinimizationConfig | BigStickConfig, Field(discriminator="scheme")
]


class RandomizationConfig(_Config):
    """The randomization section of a protocol version's configuration file."""

    strata: StrataConfig = Field(default_factory=StrataConfig)
    scheme: SchemeConfig = Field(default_factory=PermutedBlockConfig)

    @model_validator(mode="after")
    def _factors_exist(self) -> RandomizationConfig:
        if isinstance(self.scheme, MinimizationConfig):
            unknown = set(self.scheme.factors) - set(self.strata.factor_names)
            if unknown:
                raise ValueError(f"minimization factors not in strata: {sorted(unknown)}")
        return self
