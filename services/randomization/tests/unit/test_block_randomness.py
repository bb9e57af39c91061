"""Statistical checks of the block generator (fixed seeds, so deterministic).

Why not a runs test on the whole sequence: permuted blocks deliberately alternate more than coin
flips (a block of 2 always switches arm), so a runs test rejects every blocked design. The
property that matters is that an arm is equally likely at every arrival position; a chi-square
test of arm x position phase (position mod 6, a multiple of every default block size's period)
checks it and rejects a deterministic ABAB... pattern outright.
"""

import math
from collections import Counter

import numpy as np
from scipy import stats

from rescue_randomization.domain.arms import EXPERIMENTAL, Arm
from rescue_randomization.domain.blocks import block_list, generate_block

SEED = bytes.fromhex("c3" * 32)
KEY = "site=S01|pfi=6-12|maintenance=none"
LENGTH = 6000


def position_phase_p_value(arms: list[Arm], period: int = 6) -> float:
    """Chi-square test of independence between arm and arrival position modulo `period`."""
    experimental = np.array([arm is EXPERIMENTAL for arm in arms])
    phase = np.arange(len(arms)) % period
    table = np.array(
        [
            [np.sum(experimental & (phase == k)), np.sum(~experimental & (phase == k))]
            for k in range(period)
        ]
    )
    return float(stats.chi2_contingency(table).pvalue)


def test_arm_independent_of_arrival_position() -> None:
    arms = block_list(SEED, KEY, LENGTH)
    assert position_phase_p_value(arms) > 0.01
    # no drift over the course of the trial either: arm x arrival decile
    experimental = np.array([arm is EXPERIMENTAL for arm in arms]).reshape(10, -1)
    table = np.stack([experimental.sum(axis=1), (~experimental).sum(axis=1)], axis=1)
    assert stats.chi2_contingency(table).pvalue > 0.01


def test_same_test_rejects_a_deterministic_alternating_pattern() -> None:
    alternating = [arm for _ in range(LENGTH // 2) for arm in (Arm.SCS_CHEMO, Arm.CHEMO)]
    assert position_phase_p_value(alternating) < 1e-12


def test_block_sizes_and_permutations_are_uniform() -> None:
    blocks = [generate_block(SEED, KEY, b) for b in range(3000)]
    sizes = Counter(len(block) for block in blocks)
    assert stats.chisquare([sizes[2], sizes[4], sizes[6]]).pvalue > 0.01
    for size in (4, 6):
        orders = Counter(block for block in blocks if len(block) == size)
        n_orders = math.comb(size, size // 2)  # distinct arrangements of size/2 of each arm
        assert len(orders) == n_orders
        assert stats.chisquare(list(orders.values())).pvalue > 0.01


def test_every_position_inside_a_block_is_a_fair_coin() -> None:
    """Marginally, P(experimental) is 1/2 at each of the 6 positions of a block of 6."""
    blocks = [b for b in (generate_block(SEED, "other", n) for n in range(3000)) if len(b) == 6]
    for position in range(6):
        hits = sum(block[position] is EXPERIMENTAL for block in blocks)
        assert stats.binomtest(hits, len(blocks), 0.5).pvalue > 0.001
