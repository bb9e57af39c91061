"""The randomization protocol files: `rescue_randomization/protocols/randomization-v<N>.yaml`,
read with the platform's one loader (cached per process)."""

from __future__ import annotations

from rescue_randomization.domain.protocol import RandomizationProtocol, parse_protocol
from rescue_shared.protocols import ProtocolFiles

PROTOCOL_FILES: ProtocolFiles[RandomizationProtocol] = ProtocolFiles(
    "rescue_randomization.protocols", "randomization", parse_protocol)
