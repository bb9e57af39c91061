"""Scheme configuration: defaults, parsing from a protocol file, validation."""

import pytest
import yaml
from pydantic import ValidationError

from rescue_randomization.domain.schemes import (
    BigStickConfig,
    MinimizationConfig,
    PermutedBlockConfig,
    RandomizationConfig,
)


def test_defaults() -> None:
    config = RandomizationConfig()
    assert isinstance(config.scheme, PermutedBlockConfig)
    assert config.scheme.block_sizes == (2, 4, 6)
    assert config.strata.factor_names == ("site", "pfi", "maintenance")
    minimization = MinimizationConfig()
    assert minimization.p_preferred == 0.85 and minimization.imbalance == "range"
    assert all(minimization.weight(f) == 1.0 for f in minimization.factors)
    assert BigStickConfig().max_imbalance == 3


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("scheme: {scheme: permuted_blocks, block_sizes: [4, 8]}", PermutedBlockConfig),
        (
            "scheme: {scheme: minimization, p_preferred: 0.8, weights: "
            "{site: 1, pfi: 2, maintenance: 1}}",
            MinimizationConfig,
        ),
        ("scheme: {scheme: big_stick, max_imbalance: 2}", BigStickConfig),
    ],
)
def test_parse_from_yaml(text: str, kind: type) -> None:
    assert isinstance(RandomizationConfig.model_validate(yaml.safe_load(text)).scheme, kind)


@pytest.mark.parametrize(
    "scheme",
    [
        {"scheme": "permuted_blocks", "block_sizes": [3]},
        {"scheme": "permuted_blocks", "block_sizes": [4, 4]},
        {"scheme": "permuted_blocks", "block_sizes": []},
        {"scheme": "minimization", "p_preferred": 0.5},
        {"scheme": "minimization", "p_preferred": 1.1},
        {"scheme": "minimization", "weights": {"site": 1}},
        {"scheme": "minimization", "factors": ["site", "age"]},
        {"scheme": "big_stick", "max_imbalance": 0},
        {"scheme": "coin"},
    ],
)
def test_invalid_configs_rejected(scheme: dict) -> None:
    with pytest.raises(ValidationError):
        RandomizationConfig.model_validate({"scheme": scheme})
