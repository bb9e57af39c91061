"""Pocock-Simon minimization: hand-computed decisions, the biased coin, and its balancing effect."""

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from rescue_randomization.domain.arms import Arm
from rescue_randomization.domain.csprng import DeterministicStream
from rescue_randomization.domain.minimization import allocate_minimization, imbalance_scores, tally
from rescue_randomization.domain.schemes import MinimizationConfig

SCS, CHEMO = Arm.SCS_CHEMO, Arm.CHEMO
SUBJECT = {"site": "S01", "pfi": ">12", "maintenance": "none"}
# site favours CHEMO, maintenance favours SCS_CHEMO, pfi is balanced
COUNTS = {
    "site": {"S01": {SCS: 3, CHEMO: 1}},
    "pfi": {">12": {SCS: 2, CHEMO: 2}},
    "maintenance": {"none": {CHEMO: 2}},
}


def const(value: float) -> Callable[[], float]:
    return lambda: value


def test_equal_weights_tie_is_a_fair_coin() -> None:
    config = MinimizationConfig()
    assert imbalance_scores(COUNTS, SUBJECT, config) == {SCS: 5.0, CHEMO: 5.0}
    arm, details = allocate_minimization(COUNTS, SUBJECT, config, const(0.49))
    assert arm is SCS and details.preferred_arm is None
    assert details.probability_of_allocated_arm == 0.5 and details.draw == 0.49
    assert allocate_minimization(COUNTS, SUBJECT, config, const(0.5))[0] is CHEMO


@pytest.mark.parametrize(
    ("weights", "preferred", "scores"),
    [
        ({"site": 2, "pfi": 1, "maintenance": 1}, CHEMO, {SCS: 8.0, CHEMO: 6.0}),
        ({"site": 1, "pfi": 1, "maintenance": 2}, SCS, {SCS: 6.0, CHEMO: 8.0}),
    ],
)
def test_weights_and_biased_coin(weights: dict, preferred: Arm, scores: dict) -> None:
    config = MinimizationConfig(weights=weights)
    arm, details = allocate_minimization(COUNTS, SUBJECT, config, const(0.8499))
    assert (arm, details.preferred_arm, details.scores) == (preferred, preferred, scores)
    assert details.probability_of_allocated_arm == 0.85
    arm, details = allocate_minimization(COUNTS, SUBJECT, config, const(0.85))
    assert arm is not preferred and details.probability_of_allocated_arm == pytest.approx(0.15)


def test_variance_measure_and_deterministic_minimization() -> None:
    config = MinimizationConfig(
        imbalance="variance", weights={"site": 2, "pfi": 1, "maintenance": 1}
    )
    # two arms: variance of (a, b) = ((a - b) / 2) ** 2
    assert imbalance_scores(COUNTS, SUBJECT, config) == {SCS: 5.0, CHEMO: 3.0}
    taves = MinimizationConfig(p_preferred=1.0, weights=config.weights)
    assert allocate_minimization(COUNTS, SUBJECT, taves, const(0.999))[0] is CHEMO


def test_preferred_arm_taken_with_probability_p() -> None:
    stream = DeterministicStream(bytes(32), "coin-test")
    config = MinimizationConfig(weights={"site": 2, "pfi": 1, "maintenance": 1})
    hits = sum(
        allocate_minimization(COUNTS, SUBJECT, config, stream.random)[0] is CHEMO
        for _ in range(4000)
    )
    assert stats.binomtest(hits, 4000, 0.85).pvalue > 0.01


def test_missing_subject_level_rejected() -> None:
    with pytest.raises(ValueError, match="maintenance"):
        allocate_minimization(COUNTS, {"site": "S01", "pfi": ">12"}, uniform=const(0.1))


def test_tally_builds_marginal_counts() -> None:
    rows = [(SUBJECT, SCS), (SUBJECT, CHEMO), ({**SUBJECT, "site": "S02"}, SCS)]
    counts = tally(rows, ("site", "pfi"))
    assert counts == {
        "site": {"S01": {SCS: 1, CHEMO: 1}, "S02": {SCS: 1, CHEMO: 0}},
        "pfi": {">12": {SCS: 2, CHEMO: 1}},
    }


def test_minimization_beats_simple_randomization_over_10000_subjects() -> None:
    n, rng = 10_000, np.random.default_rng(2025)
    levels = {
        "site": rng.choice(12, size=n, p=np.arange(1, 13) / 78),
        "pfi": rng.choice(2, size=n, p=[0.4, 0.6]),
        "maintenance": rng.choice(3, size=n, p=[0.5, 0.3, 0.2]),
    }

    def mean_abs_imbalance(signs: np.ndarray) -> float:
        return float(
            np.mean([np.abs(np.bincount(codes, weights=signs)).mean() for codes in levels.values()])
        )

    simple = np.where(rng.random(n) < 0.5, 1.0, -1.0)

    config, uniform = MinimizationConfig(), DeterministicStream(bytes(32), "simulation").random
    counts: dict[str, dict[str, dict[Arm, int]]] = {f: {} for f in levels}
    signs = np.empty(n)
    for i in range(n):
        subject = {f: str(codes[i]) for f, codes in levels.items()}
        arm, _ = allocate_minimization(counts, subject, config, uniform)
        for factor, level in subject.items():
            at_level = counts[factor].setdefault(level, {SCS: 0, CHEMO: 0})
            at_level[arm] += 1
        signs[i] = 1.0 if arm is SCS else -1.0

    minimized, randomized = mean_abs_imbalance(signs), mean_abs_imbalance(simple)
    assert minimized < 3 < 10 < randomized
    assert minimized < randomized / 5
