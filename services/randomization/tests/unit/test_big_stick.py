"""Big-stick design: fair coin inside the tolerated imbalance, forced back at the cap."""

from collections.abc import Callable

import numpy as np
import pytest

from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.big_stick import allocate_big_stick, is_forced
from rescue_randomization.domain.csprng import DeterministicStream
from rescue_randomization.domain.schemes import BigStickConfig

SCS, CHEMO = Arm.SCS_CHEMO, Arm.CHEMO


def no_coin() -> float:
    raise AssertionError("the coin must not be drawn when the allocation is forced")


def const(value: float) -> Callable[[], float]:
    return lambda: value


@pytest.mark.parametrize("cap", [1, 2, 3, 5])
def test_imbalance_never_exceeds_the_cap(cap: int) -> None:
    config, uniform = BigStickConfig(max_imbalance=cap), DeterministicStream(bytes(32), cap).random
    counts = {SCS: 0, CHEMO: 0}
    path = []
    for _ in range(5000):
        counts[allocate_big_stick(counts, config, uniform)] += 1
        path.append(counts[SCS] - counts[CHEMO])
    path_abs = np.abs(path)
    assert path_abs.max() == cap  # the cap is reached, never exceeded
    assert 0.45 < counts[SCS] / 5000 < 0.55


def test_forced_to_lagging_arm_at_or_beyond_cap() -> None:
    config = BigStickConfig(max_imbalance=3)
    assert allocate_big_stick({SCS: 5, CHEMO: 2}, config, no_coin) is CHEMO
    assert allocate_big_stick({SCS: 1, CHEMO: 4}, config, no_coin) is SCS
    # an invalidated allocation can push a stratum past the cap: still corrected
    assert allocate_big_stick({SCS: 6, CHEMO: 2}, config, no_coin) is CHEMO
    assert is_forced({SCS: 5, CHEMO: 2}, config) and not is_forced({SCS: 4, CHEMO: 2}, config)


def test_fair_coin_below_cap() -> None:
    config = BigStickConfig()
    assert allocate_big_stick({SCS: 4, CHEMO: 2}, config, const(0.4999)) is SCS
    assert allocate_big_stick({SCS: 4, CHEMO: 2}, config, const(0.5)) is CHEMO
    assert allocate_big_stick({}, config, const(0.1)) is SCS
