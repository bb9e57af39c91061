"""Pocock-Simon minimization with a biased coin (Pocock & Simon 1975).

For each arm, imagine the new subject allocated to it and sum, over factors, weight x imbalance of
the counts at the subject's level. The arm with the lowest total is chosen with probability
`p_preferred`, otherwise the other arm; on a tie a fair coin decides. One `uniform()` draw decides
every case, and it is returned in the details so the decision can be audited and replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from rescue_randomization.domain.arms import ARMS, Arm
from rescue_randomization.domain.csprng import system_uniform
from rescue_randomization.domain.schemes import MinimizationConfig

# factor -> level -> arm -> number of (valid) subjects already allocated
MarginalCounts = Mapping[str, Mapping[str, Mapping[Arm, int]]]


@dataclass(frozen=True)
class MinimizationDetails:
    """What the decision rested on; persist it with the allocation."""

    scores: dict[Arm, float]
    preferred_arm: Arm | None  # None when every arm scores the same
    probability_of_allocated_arm: float
    draw: float
    imbalance: str


def _imbalance(counts: list[int], measure: str) -> float:
    if measure == "range":
        return float(max(counts) - min(counts))
    mean = sum(counts) / len(counts)
    return sum((c - mean) ** 2 for c in counts) / len(counts)


def imbalance_scores(
    counts: MarginalCounts, subject_levels: Mapping[str, str], config: MinimizationConfig
) -> dict[Arm, float]:
    """Weighted total imbalance if the subject were allocated to each arm."""
    missing = [f for f in config.factors if f not in subject_levels]
    if missing:
        raise ValueError(f"subject has no level for factors {missing}")
    scores: dict[Arm, float] = {}
    for candidate in ARMS:
        total = 0.0
        for factor in config.factors:
            at_level = counts.get(factor, {}).get(subject_levels[factor], {})
            after = [at_level.get(arm, 0) + (arm is candidate) for arm in ARMS]
            total += config.weight(factor) * _imbalance(after, config.imbalance)
        scores[candidate] = total
    return scores


def allocate_minimization(
    current_counts_per_factor_level: MarginalCounts,
    subject_levels: Mapping[str, str],
    config: MinimizationConfig | None = None,
    uniform: Callable[[], float] | None = None,
) -> tuple[Arm, MinimizationDetails]:
    """Choose the arm for one subject; `uniform` is injectable for reproducible tests/replay."""
    config = config or MinimizationConfig()
    scores = imbalance_scores(current_counts_per_factor_level, subject_levels, config)
    draw = (uniform or system_uniform())()
    best = min(scores.values())
    preferred = [arm for arm in ARMS if scores[arm] == best]
    if len(preferred) == len(ARMS):
        arm, prob, preferred_arm = ARMS[min(int(draw * len(ARMS)), len(ARMS) - 1)], 0.5, None
    else:
        preferred_arm = preferred[0]  # two arms: a strict minimum is unique
        others = [a for a in ARMS if a is not preferred_arm]
        if draw < config.p_preferred:
            arm, prob = preferred_arm, config.p_preferred
        else:
            arm, prob = others[0], 1.0 - config.p_preferred
    details = MinimizationDetails(scores, preferred_arm, prob, draw, config.imbalance)
    return arm, details


def tally(
    allocations: Iterable[tuple[Mapping[str, str], Arm]], factors: Iterable[str]
) -> dict[str, dict[str, dict[Arm, int]]]:
    """Marginal counts from (subject levels, arm) pairs, e.g. every valid allocation so far."""
    factors = tuple(factors)
    counts: dict[str, dict[str, dict[Arm, int]]] = {f: {} for f in factors}
    for levels, arm in allocations:
        for factor in factors:
            at_level = counts[factor].setdefault(levels[factor], dict.fromkeys(ARMS, 0))
            at_level[arm] += 1
    return counts
