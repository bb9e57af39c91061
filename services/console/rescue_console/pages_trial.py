"""The trial team's pages: accrual, screening log, balance, CONSORT, Kaplan-Meier with a data
cut-off, the ADTTE download, audit-trail verification and dead-lettered events. Every figure
and statistic is the services' own; the console only lays them out."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from rescue_console.api import Api
from rescue_console.api_errors import ApiError
from rescue_console.charts import accrual_svg
from rescue_console.settings import SERVICES
from rescue_console.web import TrialTeam, UserApi, render

router = APIRouter()
POPULATIONS = {"itt": "intention to treat (every randomized subject)",
               "excluding_invalidated": "without allocations made in error"}
DEAD_LETTERED = re.compile(r'^events_dead_lettered_total\{[^}]*topic="([^"]+)"[^}]*\}\s+(\S+)$')


async def optional(call: Any) -> tuple[Any, str | None]:
    """A section's data, or why it cannot be shown to this user (the page still renders)."""
    try:
        return await call, None
    except ApiError as exc:
        if exc.status == 401:
            raise
        return None, exc.summary


def _cutoff(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


@router.get("/trial")
async def overview(request: Request, session: TrialTeam, api: UserApi) -> Response:
    (log, log_error), (balance, balance_error) = await asyncio.gather(
        optional(api.get("eligibility", "/v1/screening-log")),
        optional(api.get("randomization", "/v1/balance")))
    return render(request, "trial.html", page="overview", log=log, log_error=log_error,
                  balance=balance, balance_error=balance_error)


@router.get("/trial/accrual")
async def accrual(request: Request, session: TrialTeam, api: UserApi) -> Response:
    """A page of its own: reading the list of randomizations is an audited export, recorded
    only when someone asks for accrual, not on every visit to the overview."""
    allocations, error = await optional(api.get("randomization", "/v1/randomizations"))
    figure = None
    by_site: dict[str, int] = {}
    if allocations is not None:
        # Markup: charts.py escapes every text it writes into the SVG.
        figure = Markup(accrual_svg(
            (date.fromisoformat(a["randomization_date"]), a["site_id"]) for a in allocations))
        for a in allocations:
            by_site[a["site_id"]] = by_site.get(a["site_id"], 0) + 1
    return render(request, "accrual.html", page="accrual", figure=figure, error=error,
                  by_site=dict(sorted(by_site.items())),
                  total=len(allocations) if allocations is not None else None)


@router.get("/trial/consort")
async def consort(request: Request, session: TrialTeam, api: UserApi,
                  population: str = "itt") -> Response:
    population = population if population in POPULATIONS else "itt"
    flow = await api.get("followup", "/v1/consort", population=population)
    return render(request, "consort.html", page="consort", flow=flow, population=population,
                  populations=POPULATIONS)


@router.get("/trial/consort.svg")
async def consort_svg(session: TrialTeam, api: UserApi, population: str = "itt") -> Response:
    figure = await api.download("followup", "/v1/consort.svg",
                                population=population if population in POPULATIONS else "itt")
    return Response(figure.content, media_type="image/svg+xml")


@router.get("/trial/pfs")
async def pfs(request: Request, session: TrialTeam, api: UserApi, cutoff: str | None = None,
              population: str = "itt") -> Response:
    population = population if population in POPULATIONS else "itt"
    chosen = _cutoff(cutoff)
    analysis, error = await optional(api.get("followup", "/v1/analysis/pfs",
                                             population=population, cutoff=chosen))
    return render(request, "pfs.html", page="pfs", analysis=analysis, error=error,
                  cutoff=chosen or "", cutoff_invalid=bool(cutoff) and chosen is None,
                  population=population, populations=POPULATIONS)


@router.get("/trial/km.svg")
async def km_svg(session: TrialTeam, api: UserApi, cutoff: str | None = None,
                 population: str = "itt") -> Response:
    figure = await api.download("followup", "/v1/analysis/pfs/km.svg",
                                population=population if population in POPULATIONS else "itt",
                                cutoff=_cutoff(cutoff))
    return Response(figure.content, media_type="image/svg+xml")


@router.get("/trial/adtte.csv")
async def adtte(session: TrialTeam, api: UserApi, cutoff: str | None = None) -> Response:
    export = await api.download("followup", "/v1/exports/adtte.csv", cutoff=_cutoff(cutoff))
    return Response(export.content, media_type="text/csv", headers={
        "Content-Disposition": export.headers.get("content-disposition",
                                                  'attachment; filename="adtte.csv"')})


async def _verification(api: Api, service: str) -> dict[str, Any]:
    try:
        result = await api.get(service, "/v1/audit/verify")
    except ApiError as exc:
        if exc.status == 401:
            raise
        if exc.status in (404, 405):
            return {"service": service, "state": "none",
                    "text": "This service offers no audit-trail verification."}
        return {"service": service, "state": "unknown", "text": exc.summary}
    if not isinstance(result, dict) or not isinstance(result.get("valid"), bool):
        return {"service": service, "state": "unknown",
                "text": "The service's verification answer is not one the console reads."}
    if result["valid"]:
        return {"service": service, "state": "valid",
                "text": f"Valid: {result.get('entries')} entries, the hash chain is intact."}
    return {"service": service, "state": "broken",
            "text": f"NOT valid: the chain breaks at entry {result.get('first_bad_entry')} "
                    f"of {result.get('entries')}."}


@router.get("/trial/audit")
async def audit(request: Request, session: TrialTeam, api: UserApi) -> Response:
    verifications = await asyncio.gather(*(_verification(api, s) for s in SERVICES))
    entries, entries_error = await optional(api.get("randomization", "/v1/audit", limit=50,
                                                    after=-1))
    return render(request, "audit.html", page="audit", verifications=verifications,
                  entries=entries, entries_error=entries_error)


def dead_lettered(metrics: str) -> dict[str, int]:
    """Messages sent to a dead-letter topic, by source topic, from a Prometheus text page."""
    counts = {}
    for line in metrics.splitlines():
        match = DEAD_LETTERED.match(line.strip())
        if match:
            counts[match.group(1)] = int(float(match.group(2)))
    return counts


@router.get("/trial/dead-letters")
async def dead_letters(request: Request, session: TrialTeam, api: UserApi) -> Response:
    async def of(service: str) -> dict[str, Any]:
        try:
            return {"service": service, "topics": dead_lettered(await api.metrics(service)),
                    "error": None}
        except ApiError as exc:
            return {"service": service, "topics": {}, "error": exc.summary}

    services = await asyncio.gather(*(of(s) for s in SERVICES))
    return render(request, "dead_letters.html", page="dead_letters", services=services)
