"""Stratified permuted blocks, generated lazily and reproducibly from the trial seed.

Block b of stratum s (size and order) is drawn from its own stream HMAC(seed, s, b), so slot n of
stratum s is a pure function of (seed, s, n): strata appearing mid-trial need no pre-generation and
the lists do not depend on the order in which strata are first used. Indices are 0-based.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

from rescue_randomization.domain.arms import ARMS, Arm
from rescue_randomization.domain.csprng import DeterministicStream
from rescue_randomization.domain.schemes import PermutedBlockConfig

_CONTEXT = "rescue.randomization.blocks.v1"
_DEFAULT = PermutedBlockConfig()


class SlotAllocation(NamedTuple):
    """The arm at a slot of a stratum's list and the block it belongs to (both 0-based)."""

    arm: Arm
    block_number: int
    block_size: int


def _block_stream(seed: bytes, stratum_key: str, block_number: int) -> DeterministicStream:
    return DeterministicStream(seed, _CONTEXT, stratum_key, block_number)


def _draw_size(stream: DeterministicStream, config: PermutedBlockConfig) -> int:
    return config.block_sizes[stream.randbelow(len(config.block_sizes))]


def block_size(
    seed: bytes, stratum_key: str, block_number: int, config: PermutedBlockConfig = _DEFAULT
) -> int:
    """Size of one block (its stream's first draw), without shuffling it."""
    return _draw_size(_block_stream(seed, stratum_key, block_number), config)


def generate_block(
    seed: bytes, stratum_key: str, block_number: int, config: PermutedBlockConfig = _DEFAULT
) -> tuple[Arm, ...]:
    """One balanced block: size drawn first, then a Fisher-Yates shuffle of size/2 of each arm."""
    stream = _block_stream(seed, stratum_key, block_number)
    size = _draw_size(stream, config)
    arms = [arm for arm in ARMS for _ in range(size // len(ARMS))]
    for i in range(size - 1, 0, -1):
        j = stream.randbelow(i + 1)
        arms[i], arms[j] = arms[j], arms[i]
    return tuple(arms)


def iter_slots(
    seed: bytes, stratum_key: str, config: PermutedBlockConfig = _DEFAULT
) -> Iterator[SlotAllocation]:
    """The stratum's endless allocation list (for exports and statistician review)."""
    for number in itertools.count():
        block = generate_block(seed, stratum_key, number, config)
        for arm in block:
            yield SlotAllocation(arm, number, len(block))


def block_list(
    seed: bytes, stratum_key: str, count: int, config: PermutedBlockConfig = _DEFAULT
) -> list[Arm]:
    """The first `count` arms of the stratum's list."""
    if count < 0:
        raise ValueError("count must be >= 0")
    return [slot.arm for slot in itertools.islice(iter_slots(seed, stratum_key, config), count)]


def allocation_for_slot(
    seed: bytes, stratum_key: str, slot_index: int, config: PermutedBlockConfig = _DEFAULT
) -> SlotAllocation:
    """Arm for the stratum's slot `slot_index` (= number of earlier allocations in the stratum).

    Only the sizes of earlier blocks are drawn; just the target block is shuffled.
    """
    if slot_index < 0:
        raise ValueError("slot_index must be >= 0")
    start, number = 0, 0
    while True:
        size = block_size(seed, stratum_key, number, config)
        if slot_index < start + size:
            block = generate_block(seed, stratum_key, number, config)
            return SlotAllocation(block[slot_index - start], number, size)
        start, number = start + size, number + 1
