"""The randomization protocol: strata, scheme and number prefix of one version of the file.

`protocols/randomization-v<version>.yaml` is read when the trial is set up (the version in force
is the setting PROTOCOL_VERSION); from then on the trial record holds the configuration, so a
later file never changes an ongoing allocation list (docs/protocol/randomization.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rescue_randomization.domain.schemes import RandomizationConfig


class RandomizationProtocol(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    number_prefix: str = Field("R-", min_length=1, max_length=20)
    randomization: RandomizationConfig = RandomizationConfig()


def parse_protocol(data: Mapping[str, Any], name: str) -> RandomizationProtocol:
    """A protocol file's mapping as a protocol (pydantic's ValidationError when invalid)."""
    return RandomizationProtocol.model_validate(dict(data))
