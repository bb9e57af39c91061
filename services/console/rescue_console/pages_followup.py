"""Follow-up: the visit schedule, PFS, records and their corrections."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from rescue_console.api import Api
from rescue_console.api_errors import ApiError
from rescue_console.followup_forms import BY_TYPE, FORMS, labels, prefilled, read_record
from rescue_console.pages_subject import subject_state
from rescue_console.web import PostedForm, SiteStaff, SubjectId, UserApi, redirect, render

router = APIRouter()


async def _page(request: Request, api: Api, subject_id: str, *, status_code: int = 200,
                open_form: str | None = None, correcting: dict[str, object] | None = None,
                values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                summary: str | None = None) -> Response:
    state = await subject_state(api, subject_id)
    registered, visits, pfs, records = await asyncio.gather(
        api.get_or_none("followup", f"/v1/subjects/{subject_id}"),
        api.get_or_none("followup", f"/v1/subjects/{subject_id}/visits"),
        api.get_or_none("followup", f"/v1/subjects/{subject_id}/pfs"),
        api.get_or_none("followup", f"/v1/subjects/{subject_id}/assessments"))
    return render(request, "followup.html", status_code=status_code, tab="followup",
                  registered=registered, visits=visits, pfs=pfs, records=records or [],
                  forms=FORMS, open_form=open_form, correcting=correcting,
                  values=values or {}, errors=errors or {}, summary=summary, **state)


@router.get("/subjects/{subject_id}/followup")
async def followup(request: Request, subject_id: SubjectId, session: SiteStaff, api: UserApi,
                   correct: str | None = None) -> Response:
    correcting = None
    values: dict[str, str] = {}
    if correct:
        records = await api.get("followup", f"/v1/subjects/{subject_id}/assessments")
        correcting = next((r for r in records if r["assessment_id"] == correct), None)
        if correcting is not None:
            values = prefilled(correcting)
    return await _page(request, api, subject_id, correcting=correcting, values=values,
                       open_form=str(correcting["type"]) if correcting else None)


@router.post("/subjects/{subject_id}/followup/{record_type}")
async def record(request: Request, subject_id: SubjectId, record_type: str, session: SiteStaff,
                 api: UserApi, form: PostedForm) -> Response:
    record_form = BY_TYPE.get(record_type)
    if record_form is None:
        return await _page(request, api, subject_id, status_code=404,
                           summary=f"There is no record type '{record_type}'.")
    body, errors = read_record(record_form, form.values)
    summary = None
    if not errors:
        try:
            await api.post("followup", f"/v1/subjects/{subject_id}/assessments", body,
                           idempotency_key=form.get("idempotency_key") or None,
                           labels=labels(record_form))
        except ApiError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            summary = exc.summary
            # The API names a field of the record type: "recist.correction_reason".
            errors = {p.field.split(".")[-1]: p.message for p in exc.fields}
        else:
            what = record_form.title
            session.notices.append(f"{what} {'corrected' if 'supersedes' in body else 'recorded'}.")
            return redirect(f"/subjects/{subject_id}/followup")
    correcting: dict[str, object] | None = None
    if form.get("supersedes"):
        correcting = {"assessment_id": form.get("supersedes"), "type": record_type}
    return await _page(request, api, subject_id, status_code=422, open_form=record_type,
                       correcting=correcting, values=form.values, errors=errors,
                       summary=summary or "Please correct the fields marked below; nothing "
                                          "was saved.")
