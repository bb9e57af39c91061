"""The site's worklist page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from rescue_console.web import SiteStaff, UserApi, render
from rescue_console.worklist import SORT_KEYS, arrange, site_worklist

router = APIRouter()


@router.get("/worklist")
async def worklist(request: Request, session: SiteStaff, api: UserApi, q: str = "",
                   sort: str = "screened", order: str = "desc") -> Response:
    everyone, silent = await site_worklist(api)
    rows = arrange(everyone, q, sort if sort in SORT_KEYS else "screened",
                   descending=order == "desc")
    return render(request, "worklist.html", rows=rows, q=q, sort=sort, order=order,
                  silent=sorted(silent))
