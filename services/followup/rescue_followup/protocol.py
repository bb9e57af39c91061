"""The follow-up protocol configuration: versioned YAML files in `rescue_followup/protocols/`.

`followup-v<version>.yaml` holds the visit schedule and the CA-125 (GCIG) settings. A subject is
registered under the version in force (`CURRENT_VERSION`) and keeps it, so a later version never
rewrites the schedule of subjects already in follow-up.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

from rescue_followup.domain.gcig import DEFAULT_ULN_U_ML, INTERFERENCE_WINDOW_DAYS
from rescue_followup.domain.schedule import VisitScheduleConfig

CURRENT_VERSION = "1"


class Ca125Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    uln_u_ml: float = Field(default=DEFAULT_ULN_U_ML, gt=0)
    interference_window_days: int = Field(default=INTERFERENCE_WINDOW_DAYS, ge=0)


class FollowupProtocol(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    visit_schedule: VisitScheduleConfig = VisitScheduleConfig()
    ca125: Ca125Settings = Ca125Settings()


@cache
def load_protocol(version: str = CURRENT_VERSION) -> FollowupProtocol:
    """The protocol configuration of `version` (ValueError if the file is missing or invalid)."""
    name = f"followup-v{version}.yaml"
    path = resources.files("rescue_followup.protocols") / name
    if not path.is_file():
        raise ValueError(f"no follow-up protocol file {name}")
    protocol = FollowupProtocol.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if protocol.version != version:
        raise ValueError(f"{name} declares version {protocol.version!r}")
    return protocol
