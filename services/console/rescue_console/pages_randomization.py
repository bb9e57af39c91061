"""Randomization: only when she is randomizable, after a confirmation step; the allocation is
announced once; investigators may invalidate it with a reason."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from rescue_console.api import Api
from rescue_console.api_errors import ApiError
from rescue_console.pages_subject import subject_state
from rescue_console.web import PostedForm, SiteStaff, SubjectId, UserApi, redirect, render

router = APIRouter()
MAINTENANCE = {"parp_inhibitor": "PARP inhibitor", "bevacizumab": "bevacizumab",
               "none": "none"}


async def _page(request: Request, api: Api, subject_id: str, *, step: str = "status",
                errors: dict[str, str] | None = None, summary: str | None = None,
                values: dict[str, str] | None = None, status_code: int = 200) -> Response:
    state = await subject_state(api, subject_id)
    session = request.state.session
    announced = None
    if session.just_allocated and session.just_allocated.get("subject_id") == subject_id:
        announced, session.just_allocated = session.just_allocated, None  # shown once
    return render(request, "randomization.html", status_code=status_code, tab="randomization",
                  step=step, errors=errors or {}, summary=summary, values=values or {},
                  maintenance=MAINTENANCE, announced=announced, **state)


@router.get("/subjects/{subject_id}/randomization")
async def status(request: Request, subject_id: SubjectId, session: SiteStaff, api: UserApi
                 ) -> Response:
    return await _page(request, api, subject_id)


@router.post("/subjects/{subject_id}/randomization/confirm")
async def confirm(request: Request, subject_id: SubjectId, session: SiteStaff, api: UserApi,
                  form: PostedForm) -> Response:
    """The confirmation step: what will be sent, before anything is allocated."""
    errors = {}
    if form.get("consent_confirmed") != "yes":
        errors["consent_confirmed"] = ("Confirm that she gave written informed consent before "
                                       "randomizing.")
    if form.get("planned_maintenance") not in MAINTENANCE:
        errors["planned_maintenance"] = "Choose the planned maintenance therapy."
    if errors:
        return await _page(request, api, subject_id, errors=errors, values=form.values,
                           summary="Please correct the fields marked below.", status_code=422)
    values = dict(form.values) | {"allocation_key": str(uuid.uuid4())}
    return await _page(request, api, subject_id, step="confirm", values=values)


@router.post("/subjects/{subject_id}/randomization")
async def randomize(request: Request, subject_id: SubjectId, session: SiteStaff, api: UserApi,
                    form: PostedForm) -> Response:
    try:
        allocation = await api.post("randomization", "/v1/randomizations", {
            "subject_id": subject_id, "consent_confirmed": form.get("consent_confirmed") == "yes",
            "planned_maintenance": form.get("planned_maintenance")},
            # The key of the confirmation step: pressing twice allocates once.
            idempotency_key=form.get("allocation_key") or None,
            labels={"consent_confirmed": "Consent", "planned_maintenance": "Planned maintenance"})
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        return await _page(request, api, subject_id, summary=exc.summary, values=form.values,
                           errors={p.field: p.message for p in exc.fields}, status_code=exc.status)
    session.just_allocated = allocation
    return redirect(f"/subjects/{subject_id}/randomization")


@router.post("/subjects/{subject_id}/randomization/invalidation")
async def invalidate(request: Request, subject_id: SubjectId, session: SiteStaff, api: UserApi,
                     form: PostedForm) -> Response:
    try:
        await api.post("randomization", f"/v1/randomizations/{subject_id}/invalidation",
                       {"reason": form.get("reason")},
                       idempotency_key=form.get("idempotency_key") or None,
                       labels={"reason": "Reason"})
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        return await _page(request, api, subject_id, summary=exc.summary, values=form.values,
                           errors={f"invalidation.{p.field}": p.message for p in exc.fields},
                           status_code=exc.status)
    session.notices.append("The allocation is marked as made in error; it keeps its number.")
    return redirect(f"/subjects/{subject_id}/randomization")
