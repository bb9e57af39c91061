"""The screening log (JSON, or CSV with `Accept: text/csv`)."""

from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rescue_eligibility.domain.screening_log import ScreeningLog, screening_log_rows
from rescue_eligibility.entrypoints.http.dependencies import LogReader, UoW
from rescue_eligibility.service_layer import screenings

router = APIRouter(prefix="/v1", tags=["screening log"])


@router.get("/screening-log", response_model=ScreeningLog,
            responses={200: {"content": {"text/csv": {}}}},
            summary="Screened / eligible / ineligible / incomplete, by criterion, site and month")
async def screening_log(
    request: Request, principal: LogReader, uow: UoW
) -> ScreeningLog | Response:
    """Site users and investigators see their own site; the trial team sees all sites. A CSV
    download is an export: it is appended to the audit trail."""
    if "text/csv" in request.headers.get("accept", ""):
        log = await screenings.export_screening_log(uow, principal)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["dimension", "key", "measure", "count"])
        writer.writerows(screening_log_rows(log))
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="screening-log.csv"'})
    return await screenings.screening_log(uow, principal)
