"""Screening a candidate with the form generated from the criteria in force."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request, Response

from rescue_console.api import Api
from rescue_console.api_errors import ApiError
from rescue_console.facts_form import FactField, fact_fields, read_facts
from rescue_console.web import PostedForm, SiteStaff, UserApi, redirect, render

router = APIRouter()
SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


async def form_fields(api: Api) -> tuple[dict[str, Any], list[FactField]]:
    criteria = await api.get("eligibility", "/v1/criteria")
    openapi = await api.get("eligibility", "/openapi.json")
    return criteria, fact_fields(openapi, criteria)


def labels_of(fields: list[FactField]) -> dict[str, str]:
    return {"subject_id": "Subject id", "screening_date": "Screening date",
            **{f"facts.{f.name}": f.label for f in fields}}


@router.get("/screening/new")
async def new_screening(request: Request, session: SiteStaff, api: UserApi,
                        subject_id: str = "") -> Response:
    criteria, fields = await form_fields(api)
    return render(request, "screening_form.html", criteria=criteria, fields=fields,
                  values={"subject_id": subject_id, "screening_date": date.today().isoformat()},
                  errors={}, summary=None)


@router.post("/screening")
async def screen(request: Request, session: SiteStaff, api: UserApi, form: PostedForm
                 ) -> Response:
    criteria, fields = await form_fields(api)
    facts, errors = read_facts(form.values, fields)
    subject_id, screening_date = form.get("subject_id"), form.get("screening_date")
    if not SUBJECT_ID.match(subject_id):
        errors["subject_id"] = ("Enter the site's pseudonym: letters, digits, '.', '_' or '-' "
                                "(no names or record numbers).")
    if not screening_date:
        errors["screening_date"] = "Enter the screening date."
    summary = None
    if not errors:
        try:
            await api.post("eligibility", "/v1/screenings", {
                "subject_id": subject_id, "screening_date": screening_date, "facts": facts},
                idempotency_key=form.get("idempotency_key") or None, labels=labels_of(fields))
        except ApiError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            summary = exc.summary
            for problem in exc.fields:
                errors[problem.field.removeprefix("facts.")] = problem.message
        else:
            session.notices.append(f"{subject_id} screened.")
            return redirect(f"/subjects/{subject_id}")
    return render(request, "screening_form.html", status_code=422, criteria=criteria,
                  fields=fields, values=form.values, errors=errors,
                  summary=summary or "Please correct the fields marked below; nothing was saved.")
