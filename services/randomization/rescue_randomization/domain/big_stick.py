"""Big-stick design (Soares & Wu 1983): complete randomization until the cap is hit.

Within a stratum, a fair coin decides while |n_SCS_CHEMO - n_CHEMO| < max_imbalance; at (or, after
an invalidation, beyond) the cap the lagging arm is allocated deterministically. Less predictable
than small blocks, with imbalance bounded by the cap at every point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rescue_randomization.domain.arms import COMPARATOR, EXPERIMENTAL, Arm
from rescue_randomization.domain.csprng import system_uniform
from rescue_randomization.domain.schemes import BigStickConfig


def stratum_imbalance(stratum_counts: Mapping[Arm, int]) -> int:
    """n_SCS_CHEMO - n_CHEMO (positive = experimental ahead)."""
    return stratum_counts.get(EXPERIMENTAL, 0) - stratum_counts.get(COMPARATOR, 0)


def is_forced(stratum_counts: Mapping[Arm, int], config: BigStickConfig | None = None) -> bool:
    """True when the cap is reached and the next arm is not random (record it for audit)."""
    config = config or BigStickConfig()
    return abs(stratum_imbalance(stratum_counts)) >= config.max_imbalance


def allocate_big_stick(
    stratum_counts: Mapping[Arm, int],
    config: BigStickConfig | None = None,
    uniform: Callable[[], float] | None = None,
) -> Arm:
    """Arm for the next subject of the stratum; the coin is drawn only when not forced."""
    config = config or BigStickConfig()
    imbalance = stratum_imbalance(stratum_counts)
    if imbalance >= config.max_imbalance:
        return COMPARATOR
    if imbalance <= -config.max_imbalance:
        return EXPERIMENTAL
    return EXPERIMENTAL if (uniform or system_uniform())() < 0.5 else COMPARATOR
