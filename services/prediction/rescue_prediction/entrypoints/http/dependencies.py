"""What the routes are given: the unit of work, the caller, the protocol in force; and the
views shared by several routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from rescue_prediction.adapters.protocol_files import PROTOCOL_FILES
from rescue_prediction.adapters.unit_of_work import SqlPredictionUnitOfWork
from rescue_prediction.domain.model import PredictionVersion, Subject
from rescue_prediction.domain.prediction import PredictionBody
from rescue_prediction.domain.protocol import PredictionProtocol
from rescue_prediction.entrypoints.http.schemas import (
    AWAITING_SCREENING_NOTE,
    PredictionView,
    SubjectStatus,
)
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import unit_of_work

UoW = Annotated[SqlPredictionUnitOfWork, Depends(unit_of_work)]
SiteWriter = Annotated[Principal, Depends(require_roles("site_user", "investigator"))]


def protocol_in_force(request: Request) -> PredictionProtocol:
    """The prediction protocol of the PROTOCOL_VERSION setting."""
    return PROTOCOL_FILES.load(str(request.app.state.settings.protocol_version))


ProtocolInForce = Annotated[PredictionProtocol, Depends(protocol_in_force)]


def subject_status(subject: Subject) -> SubjectStatus:
    return "awaiting_screening" if subject.awaiting_screening else "screened"


def awaiting_note(subject: Subject) -> str | None:
    return AWAITING_SCREENING_NOTE if subject.awaiting_screening else None


def prediction_view(version: PredictionVersion, superseded: bool = False) -> PredictionView:
    return PredictionView(
        **PredictionBody.model_validate(version.result).model_dump(),
        prediction_id=uuid.UUID(version.prediction_id), subject_id=version.subject_id,
        site_id=version.site_id, version=version.version, superseded=superseded,
        trigger=version.trigger, created_at=version.created_at,
    )


def optional_prediction_view(version: PredictionVersion | None) -> PredictionView | None:
    return prediction_view(version) if version is not None else None
