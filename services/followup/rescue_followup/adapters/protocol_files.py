"""The follow-up protocol files: `rescue_followup/protocols/followup-v<N>.yaml`, read with the
platform's one loader (cached per process). The version in force for new subjects is the
PROTOCOL_VERSION setting; the model a file is parsed into lives in `domain/protocol.py`."""

from __future__ import annotations

from rescue_followup.domain.protocol import FollowupProtocol, parse_protocol
from rescue_shared.protocols import ProtocolFiles

PROTOCOL_FILES: ProtocolFiles[FollowupProtocol] = ProtocolFiles(
    "rescue_followup.protocols", "followup", parse_protocol)
