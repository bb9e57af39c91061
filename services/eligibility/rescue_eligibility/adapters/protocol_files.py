"""The eligibility protocol files: `rescue_eligibility/protocols/eligibility-v<N>.yaml`, read with
the platform's one loader (cached per process). The version in force for new screenings is the
PROTOCOL_VERSION setting; the model a file is parsed into lives in `domain/criteria.py`."""

from __future__ import annotations

from rescue_eligibility.domain.criteria import Protocol, parse_protocol
from rescue_shared.protocols import ProtocolFiles

PROTOCOL_FILES: ProtocolFiles[Protocol] = ProtocolFiles(
    "rescue_eligibility.protocols", "eligibility", parse_protocol)
