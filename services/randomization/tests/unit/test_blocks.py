"""Stratified permuted blocks: balance, block sizes, reproducibility, lazy per-stratum lists."""

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest

from rescue_randomization.domain.arms import ARMS, EXPERIMENTAL, Arm
from rescue_randomization.domain.blocks import (
    allocation_for_slot,
    block_list,
    generate_block,
    iter_slots,
)
from rescue_randomization.domain.schemes import PermutedBlockConfig

SEED = bytes.fromhex("5e" * 32)
OTHER_SEED = bytes.fromhex("a7" * 32)
STRATA = [
    f"site={site}|pfi={pfi}|maintenance={m}"
    for site in ("S01", "S02", "S03")
    for pfi in ("6-12", ">12")
    for m in ("parp_inhibitor", "bevacizumab", "none")
]
CONFIGS = [
    PermutedBlockConfig(),
    PermutedBlockConfig(block_sizes=(4, 8)),
    PermutedBlockConfig(block_sizes=(2,)),
]


def running_imbalance(arms: list[Arm]) -> np.ndarray:
    return np.cumsum([1 if arm is EXPERIMENTAL else -1 for arm in arms])


@pytest.mark.parametrize("config", CONFIGS)
def test_imbalance_never_exceeds_half_the_largest_block(config: PermutedBlockConfig) -> None:
    bound = max(config.block_sizes) // 2
    for key in STRATA:
        imbalance = running_imbalance(block_list(SEED, key, 500, config))
        assert np.abs(imbalance).max() <= bound


@pytest.mark.parametrize("config", CONFIGS)
def test_every_complete_block_is_balanced_and_sized_from_config(
    config: PermutedBlockConfig,
) -> None:
    slots = list(itertools.islice(iter_slots(SEED, STRATA[0], config), 2000))
    blocks: dict[int, list[Arm]] = defaultdict(list)
    for slot in slots:
        blocks[slot.block_number].append(slot.arm)
        assert slot.block_size in config.block_sizes
    complete = [arms for number, arms in blocks.items() if number < slots[-1].block_number]
    for arms in complete:
        assert Counter(arms) == dict.fromkeys(ARMS, len(arms) // 2)
    sizes = {len(arms) for arms in complete}
    assert sizes == set(config.block_sizes)  # every configured size occurs, nothing else


def test_block_sizes_vary() -> None:
    sizes = [len(generate_block(SEED, STRATA[0], b)) for b in range(30)]
    assert len(set(sizes)) == 3
    assert any(a != b for a, b in itertools.pairwise(sizes))


def test_same_seed_same_list_other_seed_or_stratum_different() -> None:
    first = block_list(SEED, STRATA[0], 200)
    assert block_list(SEED, STRATA[0], 200) == first
    assert block_list(OTHER_SEED, STRATA[0], 200) != first
    assert block_list(SEED, STRATA[1], 200) != first


def test_block_list_prefixes_are_consistent() -> None:
    assert block_list(SEED, STRATA[0], 37) == block_list(SEED, STRATA[0], 100)[:37]
    assert block_list(SEED, STRATA[0], 0) == []


def test_allocation_for_slot_matches_block_list() -> None:
    slots = list(itertools.islice(iter_slots(SEED, STRATA[2]), 120))
    assert [allocation_for_slot(SEED, STRATA[2], i) for i in range(120)] == slots
    assert [s.arm for s in slots] == block_list(SEED, STRATA[2], 120)
    assert slots[0].block_number == 0


def test_lists_do_not_depend_on_order_strata_are_first_used() -> None:
    arrivals = np.random.default_rng(1).choice(len(STRATA), size=400).tolist()

    def allocate(order: list[int]) -> dict[str, list[Arm]]:
        lists: dict[str, list[Arm]] = defaultdict(list)
        for index in order:
            key = STRATA[index]
            lists[key].append(allocation_for_slot(SEED, key, len(lists[key])).arm)
        return lists

    forward = allocate(arrivals)
    # strata first appear in the opposite order, and interleave differently
    backward = allocate(sorted(arrivals, key=lambda i: -i))
    assert forward == backward
    assert all(arms == block_list(SEED, key, len(arms)) for key, arms in forward.items())


def test_negative_indices_rejected() -> None:
    with pytest.raises(ValueError):
        allocation_for_slot(SEED, STRATA[0], -1)
    with pytest.raises(ValueError):
        block_list(SEED, STRATA[0], -1)
