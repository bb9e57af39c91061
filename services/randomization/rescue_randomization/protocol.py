"""The randomization configuration: versioned YAML files in `rescue_randomization/protocols/`.

`randomization-v<version>.yaml` holds the strata and the allocation scheme. The file in force
(setting `RANDOMIZATION_PROTOCOL_VERSION`) is read when the trial is set up; from then on the trial
row holds the configuration, so a later file never changes an ongoing allocation list.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

from rescue_randomization.domain.schemes import RandomizationConfig


class RandomizationProtocol(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    number_prefix: str = Field("R-", min_length=1, max_length=20)
    randomization: RandomizationConfig = RandomizationConfig()


@cache
def load_protocol(version: str) -> RandomizationProtocol:
    """The configuration of `version` (ValueError if the file is missing or invalid)."""
    name = f"randomization-v{version}.yaml"
    path = resources.files("rescue_randomization.protocols") / name
    if not path.is_file():
        raise ValueError(f"no randomization protocol file {name}")
    protocol = RandomizationProtocol.model_validate(
        yaml.safe_load(path.read_text(encoding="utf-8")))
    if protocol.version != version:
        raise ValueError(f"{name} declares version {protocol.version!r}")
    return protocol
