"""The follow-up protocol configuration: what one `protocols/followup-v<N>.yaml` file holds.

The visit schedule (docs/protocol/pfs.md § Tumour-assessment schedule) and the CA-125 (GCIG)
settings (docs/protocol/gcig-ca125.md § Progression). A subject is registered under the version in
force (the PROTOCOL_VERSION setting) and keeps it, so a later version never rewrites the schedule
of subjects already in follow-up. The files are read by `adapters/protocol_files.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rescue_followup.domain.gcig import DEFAULT_ULN_U_ML, INTERFERENCE_WINDOW_DAYS
from rescue_followup.domain.schedule import VisitScheduleConfig


class Ca125Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    uln_u_ml: float = Field(default=DEFAULT_ULN_U_ML, gt=0)
    interference_window_days: int = Field(default=INTERFERENCE_WINDOW_DAYS, ge=0)


# Which stratum the stratified log-rank and Cox use: as randomized, or as verified against
# source data after randomization (docs/protocol/randomization.md § Stratification errors).
StrataChoice = Literal["randomized", "verified"]


class AnalysisSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    strata_default: StrataChoice = "randomized"


class FollowupProtocol(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    visit_schedule: VisitScheduleConfig = VisitScheduleConfig()
    ca125: Ca125Settings = Ca125Settings()
    analysis: AnalysisSettings = AnalysisSettings()


# The protocol of a version (the subject's own, recorded at registration).
ProtocolOf = Callable[[str], FollowupProtocol]


def parse_protocol(data: Mapping[str, Any], name: str) -> FollowupProtocol:
    """The protocol a file's mapping describes (pydantic's ValidationError, a ValueError, when
    invalid); `name` is the file's, for messages."""
    return FollowupProtocol.model_validate(dict(data))
