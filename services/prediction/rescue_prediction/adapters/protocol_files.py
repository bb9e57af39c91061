"""The prediction protocol files (`protocols/prediction-v<N>.yaml`), read by the shared loader.

The version in force is the PROTOCOL_VERSION setting (`settings.protocol_version`); the file
declares `protocol_version: prediction-v<N>`, which `ProtocolFiles` reads as version N. The model
the file is parsed into lives in `domain/protocol.py`.
"""

from __future__ import annotations

from rescue_prediction.domain.protocol import PredictionProtocol, parse_protocol
from rescue_prediction.settings import PredictionSettings
from rescue_shared.protocols import ProtocolFiles

PROTOCOL_FILES: ProtocolFiles[PredictionProtocol] = ProtocolFiles(
    "rescue_prediction.protocols", "prediction", parse_protocol)


def load_protocol(version: str | None = None) -> PredictionProtocol:
    """The protocol of `version` (read once per process); by default the version in force
    (PROTOCOL_VERSION). ProtocolFileError (a ValueError) when missing or invalid."""
    return PROTOCOL_FILES.load(PredictionSettings().protocol_version if version is None
                               else version)
