"""The screening log (JSON, or CSV with `Accept: text/csv`)."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import col, select

from rescue_eligibility.domain.evaluation import ScreeningResult
from rescue_eligibility.domain.screening_log import (
    LoggedScreening,
    ScreeningLog,
    build_screening_log,
    screening_log_rows,
)
from rescue_eligibility.tables import Screening
from rescue_shared.auth import Principal, require_roles
from rescue_shared.service import UoW

router = APIRouter(prefix="/v1", tags=["screening log"])
LogReader = Annotated[Principal, Depends(require_roles(
    "site_user", "investigator", "monitor", "statistician", "admin"))]


@router.get("/screening-log", response_model=ScreeningLog,
            responses={200: {"content": {"text/csv": {}}}},
            summary="Screened / eligible / ineligible / incomplete, by criterion, site and month")
async def screening_log(
    request: Request, principal: LogReader, uow: UoW
) -> ScreeningLog | Response:
    """Site users and investigators see their own site; the trial team sees all sites."""
    query = select(Screening).order_by(col(Screening.created_at), col(Screening.id))
    if not principal.sees_all_sites:
        query = query.where(Screening.site_id == principal.site_id)
    rows = (await uow.session.exec(query)).all()
    log = build_screening_log(
        LoggedScreening(
            subject_id=s.subject_id, site_id=s.site_id, screening_date=s.screening_date,
            recorded_order=order, outcome=s.outcome, final_decision=s.final_decision,
            failed_criteria=ScreeningResult.model_validate(
                s.final_result or s.result).failed_criteria)
        for order, s in enumerate(rows))
    if "text/csv" in request.headers.get("accept", ""):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["dimension", "key", "measure", "count"])
        writer.writerows(screening_log_rows(log))
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="screening-log.csv"'})
    return log
