"""Choosing the arm with the configured scheme, and replaying every choice from the seed.

All random draws come from the trial's secret seed through HMAC-SHA256 streams
(domain.csprng): permuted blocks read slot `n` of the stratum's list; minimization and the big
stick draw their coin from `seeded_uniform(seed, sequence)`. Unpredictable without the seed,
reproducible with it. Invalidated allocations stay counted (their slot stays consumed).
See docs/protocol/randomization.md, "Allocation schemes" and "Concealment and reproducibility".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.big_stick import allocate_big_stick, is_forced
from rescue_randomization.domain.blocks import allocation_for_slot
from rescue_randomization.domain.csprng import seeded_uniform
from rescue_randomization.domain.minimization import allocate_minimization, tally
from rescue_randomization.domain.records import AllocationRecord, StratumCounterRecord
from rescue_randomization.domain.schemes import (
    BigStickConfig,
    MinimizationConfig,
    PermutedBlockConfig,
    RandomizationConfig,
)
from rescue_randomization.domain.strata import Stratum


@dataclass(frozen=True)
class Decision:
    arm: Arm
    details: dict[str, Any] = field(default_factory=dict)


def _recording(uniform: Callable[[], float], draws: list[float]) -> Callable[[], float]:
    def draw() -> float:
        value: float = uniform()
        draws.append(value)
        return value
    return draw


def _big_stick(seed: bytes, sequence: int, config: BigStickConfig,
               counts: dict[Arm, int]) -> Decision:
    draws: list[float] = []
    forced = is_forced(counts, config)
    arm = allocate_big_stick(counts, config,
                             _recording(seeded_uniform(seed, sequence, "big_stick"), draws))
    return Decision(arm, {"forced": forced, "draw": draws[0] if draws else None})


def _minimization(seed: bytes, sequence: int, config: MinimizationConfig,
                  earlier: Iterable[tuple[dict[str, str], Arm]], levels: dict[str, str]
                  ) -> Decision:
    counts = tally(earlier, config.factors)
    arm, details = allocate_minimization(counts, levels, config,
                                         seeded_uniform(seed, sequence, "minimization"))
    return Decision(arm, {
        "scores": {a.value: s for a, s in details.scores.items()},
        "preferred_arm": details.preferred_arm.value if details.preferred_arm else None,
        "probability_of_allocated_arm": details.probability_of_allocated_arm,
        "draw": details.draw,
    })


def decide(
    seed: bytes, sequence: int, config: RandomizationConfig, stratum: Stratum,
    counter: StratumCounterRecord, earlier: Iterable[tuple[dict[str, str], Arm]] = (),
) -> Decision:
    """The arm of the trial's allocation number `sequence` in `stratum`.

    `counter` is the stratum's (locked) counter; `earlier` every earlier allocation's stratum
    levels and arm, which only minimization reads.
    """
    scheme = config.scheme
    if isinstance(scheme, PermutedBlockConfig):
        slot = allocation_for_slot(seed, stratum.key, counter.next_slot, scheme)
        return Decision(slot.arm)
    if isinstance(scheme, BigStickConfig):
        counts = {Arm.SCS_CHEMO: counter.scs_chemo, Arm.CHEMO: counter.chemo}
        return _big_stick(seed, sequence, scheme, counts)
    return _minimization(seed, sequence, scheme, earlier, dict(stratum.levels))


def count(counter: StratumCounterRecord, arm: Arm) -> None:
    """Consume the stratum's next slot for `arm`."""
    counter.next_slot += 1
    if arm is Arm.SCS_CHEMO:
        counter.scs_chemo += 1
    else:
        counter.chemo += 1


def replay(seed: bytes, config: RandomizationConfig,
           allocations: Sequence[AllocationRecord]) -> list[Arm]:
    """The arm the seed gives for each allocation (in trial sequence order), recomputed."""
    scheme = config.scheme
    ordered = sorted(allocations, key=lambda a: a.sequence)
    arms: list[Arm] = []
    per_stratum: dict[str, dict[Arm, int]] = {}
    earlier: list[tuple[dict[str, str], Arm]] = []
    for allocation in ordered:
        if isinstance(scheme, PermutedBlockConfig):
            arm = allocation_for_slot(seed, allocation.stratum_key, allocation.slot_index,
                                      scheme).arm
        elif isinstance(scheme, BigStickConfig):
            counts = per_stratum.setdefault(allocation.stratum_key,
                                            {Arm.SCS_CHEMO: 0, Arm.CHEMO: 0})
            arm = _big_stick(seed, allocation.sequence, scheme, counts).arm
            counts[Arm(allocation.arm)] += 1
        else:
            arm = _minimization(seed, allocation.sequence, scheme, earlier,
                                dict(allocation.stratum)).arm
            earlier.append((dict(allocation.stratum), Arm(allocation.arm)))
        arms.append(arm)
    return arms
