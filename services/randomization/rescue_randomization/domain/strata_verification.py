"""Strata as randomized and as verified: a stratification error is recorded, never corrected.

Guidance on stratification errors (a site entering the wrong PFI band or planned maintenance) is
to leave the randomization as it was, record the verified value beside it and analyse both ways
(CDISC ADaM's STRATAR / STRATAV). So a verification never changes the allocation, its stratum,
its slot or what the schemes count: permuted blocks keep the slot used in the stratum as
randomized, and minimization keeps counting the factors as randomized, because the allocation
sequence must stay reproducible from what the algorithm saw when it allocated.
"""

from __future__ import annotations

from collections.abc import Mapping

from rescue_randomization.domain.strata import BandedFactor, StrataConfig


class VerificationError(ValueError):
    """The verified value names no factor of the stratum, or no level of its factor."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def allowed_levels(config: StrataConfig, factor: str) -> tuple[str, ...] | None:
    """The levels a factor may take (None: any value, as for site ids)."""
    for f in config.factors:
        if f.name == factor:
            if isinstance(f, BandedFactor):
                return tuple(band.label for band in f.bands)
            return f.levels
    raise VerificationError("factor", f"{factor!r} is not a stratification factor; factors: "
                                      f"{list(config.factor_names)}")


def check_verified_level(
    config: StrataConfig, stratum: Mapping[str, str], factor: str, level: str
) -> None:
    """Raise VerificationError unless `level` is a level of `factor` in this allocation."""
    levels = allowed_levels(config, factor)
    if factor not in stratum:
        raise VerificationError("factor", f"the allocation's stratum has no factor {factor!r}")
    if levels is not None and level not in levels:
        raise VerificationError("verified_level",
                                f"{level!r} is not a level of {factor}; levels: {list(levels)}")
    if not level or "|" in level or "=" in level:
        raise VerificationError("verified_level", "a level is non-empty, without '|' or '='")


def verified_stratum(
    randomized: Mapping[str, str], verified: Mapping[str, str]
) -> dict[str, str]:
    """Every factor as verified, the randomized level where a factor was not verified."""
    return {factor: verified.get(factor, level) for factor, level in randomized.items()}
