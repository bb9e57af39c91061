"""HTTP API of the follow-up service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import col, select

from rescue_followup.tables import ScreeningRecord
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["consort"])
TrialTeam = Annotated[
    Principal, Depends(require_roles("statistician", "monitor", "admin", "investigator"))
]


class ConsortFlow(BaseModel):
    screened_subjects: int
    screenings: int
    latest_outcome_by_subject: dict[str, int]


@router.get("/consort", response_model=ConsortFlow, summary="CONSORT flow (screening so far)")
async def consort(principal: TrialTeam, uow: UoW) -> ConsortFlow:
    query = select(ScreeningRecord)
    if not principal.sees_all_sites:
        query = query.where(ScreeningRecord.site_id == principal.site_id)
    records = (await uow.session.exec(query.order_by(col(ScreeningRecord.id)))).all()
    latest = {r.subject_id: r.outcome for r in records}
    outcomes: dict[str, int] = {}
    for outcome in latest.values():
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return ConsortFlow(screened_subjects=len(latest), screenings=len(records),
                       latest_outcome_by_subject=outcomes)
