"""A subject's overview (screening, prediction, where she stands) and her CA-125 series."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response

from rescue_console.api import Api
from rescue_console.api_errors import ApiError
from rescue_console.web import PostedForm, SiteStaff, SubjectId, UserApi, redirect, render

router = APIRouter()
CA125_ROWS = 6  # empty rows offered for new values
CA125_LABELS = {"chemotherapy_start_date": "Chemotherapy start date", "date": "Date",
                "value": "Value", "unit": "Unit", "comparator": "Comparator"}


async def subject_state(api: Api, subject_id: str) -> dict[str, Any]:
    """What each service knows of her (None where a service does not know her yet)."""
    screenings = await api.get("eligibility", f"/v1/subjects/{subject_id}/screenings")
    prediction, known, candidate, allocation = await asyncio.gather(
        api.get_or_none("prediction", f"/v1/subjects/{subject_id}/prediction"),
        api.get_or_none("prediction", f"/v1/subjects/{subject_id}"),
        api.get_or_none("randomization", f"/v1/candidates/{subject_id}"),
        api.get_or_none("randomization", f"/v1/randomizations/{subject_id}"))
    return {"subject_id": subject_id, "screenings": screenings,
            "screening": screenings[-1] if screenings else None, "prediction": prediction,
            "known": known, "candidate": candidate, "allocation": allocation}


@router.get("/subjects/{subject_id}")
async def overview(request: Request, subject_id: SubjectId, session: SiteStaff, api: UserApi
                   ) -> Response:
    state = await subject_state(api, subject_id)
    return render(request, "subject.html", tab="overview", **state)


@router.get("/subjects/{subject_id}/ca125")
async def ca125_page(request: Request, subject_id: SubjectId, session: SiteStaff,
                     api: UserApi) -> Response:
    return await _ca125(request, api, subject_id, errors={}, values={}, summary=None)


async def _ca125(request: Request, api: Api, subject_id: str, *, errors: dict[str, str],
                 values: dict[str, str], summary: str | None, status_code: int = 200
                 ) -> Response:
    state = await subject_state(api, subject_id)
    series = await api.get_or_none("prediction", f"/v1/subjects/{subject_id}/ca125") or []
    corrections = await api.get_or_none(
        "prediction", f"/v1/subjects/{subject_id}/ca125/corrections") or []
    return render(request, "ca125.html", status_code=status_code, tab="ca125", series=series,
                  corrections=corrections, rows=range(CA125_ROWS), errors=errors,
                  values=values, summary=summary, **state)


def read_measurements(form: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The filled rows of the entry table; a row with a date but no value (or the reverse) is
    an error rather than silently dropped."""
    measurements, errors = [], {}
    for i in range(CA125_ROWS):
        day, raw = form.get(f"date.{i}", "").strip(), form.get(f"value.{i}", "").strip()
        if not day and not raw:
            continue
        if not day or not raw:
            errors[f"row.{i}"] = "Give both the date and the value."
            continue
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            errors[f"row.{i}"] = "The value must be a number, e.g. 412.5."
            continue
        entry: dict[str, Any] = {"date": day, "value": value,
                                 "unit": form.get(f"unit.{i}", "U/mL")}
        if form.get(f"comparator.{i}"):
            entry["comparator"] = form[f"comparator.{i}"]
        measurements.append(entry)
    return measurements, errors


@router.post("/subjects/{subject_id}/ca125")
async def send_ca125(request: Request, subject_id: SubjectId, session: SiteStaff,
                     api: UserApi, form: PostedForm) -> Response:
    measurements, errors = read_measurements(form.values)
    start = form.get("chemotherapy_start_date")
    if not start:
        errors["chemotherapy_start_date"] = "Enter the first day of chemotherapy (day 0)."
    if not measurements and not errors:
        errors["row.0"] = "Enter at least one value."
    summary = None
    if not errors:
        try:
            receipt = await api.post(
                "prediction", f"/v1/subjects/{subject_id}/ca125",
                {"chemotherapy_start_date": start, "measurements": measurements},
                idempotency_key=form.get("idempotency_key") or None, labels=CA125_LABELS)
        except ApiError as exc:
            if exc.status >= 500 or exc.status == 401:
                raise
            summary = exc.summary
            for problem in exc.fields:
                errors[_row_of(problem.field)] = problem.message
        else:
            added = receipt["added"]
            session.notices.append(
                f"{added} value(s) recorded, {receipt['already_known']} already known."
                + (f" {receipt['note']}" if receipt.get("note") else ""))
            return redirect(f"/subjects/{subject_id}/ca125")
    return await _ca125(request, api, subject_id, errors=errors, values=form.values,
                        summary=summary or "Please correct the values marked below; nothing "
                                           "was saved.", status_code=422)


def _row_of(field: str) -> str:
    """measurements.2.value → row.2 (the entry table's row), other fields as they are."""
    parts = field.split(".")
    if len(parts) >= 2 and parts[0] == "measurements" and parts[1].isdigit():
        return f"row.{parts[1]}"
    return field


@router.post("/subjects/{subject_id}/ca125/correction")
async def correct_ca125(request: Request, subject_id: SubjectId, session: SiteStaff,
                        api: UserApi, form: PostedForm) -> Response:
    body: dict[str, Any] = {"date": form.get("date"), "unit": form.get("unit", "U/mL"),
                            "reason": form.get("reason")}
    try:
        body["value"] = float(form.get("value").replace(",", "."))
    except ValueError:
        return await _ca125(request, api, subject_id, errors={"correction.value": "The value "
                            "must be a number."}, values=form.values, status_code=422,
                            summary="Please correct the value; nothing was saved.")
    try:
        await api.post("prediction", f"/v1/subjects/{subject_id}/ca125/corrections", body,
                       idempotency_key=form.get("idempotency_key") or None,
                       labels={"reason": "Reason", "value": "Value", "date": "Date"})
    except ApiError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        return await _ca125(request, api, subject_id, values=form.values, status_code=422,
                            errors={f"correction.{p.field}": p.message for p in exc.fields},
                            summary=exc.summary)
    session.notices.append(f"The value of {body['date']} is corrected.")
    return redirect(f"/subjects/{subject_id}/ca125")


@router.get("/subjects/{subject_id}/ca125/plot.svg")
async def ca125_plot(subject_id: SubjectId, session: SiteStaff, api: UserApi) -> Response:
    """The prediction service's own figure (log axis, fitted decline, window, ULN)."""
    figure = await api.download("prediction", f"/v1/subjects/{subject_id}/ca125/plot.svg")
    return Response(figure.content, media_type="image/svg+xml")
