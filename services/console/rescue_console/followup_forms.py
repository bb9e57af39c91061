"""The follow-up record forms (RECIST, CA-125, death, withdrawal, lost to follow-up, surgery),
declared once: the template draws them and `read_record` turns a posted one into the API body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    kind: str  # date | number | text | yesno | choice
    choices: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    hint: str | None = None


@dataclass(frozen=True)
class RecordForm:
    type: str
    title: str
    inputs: tuple[Input, ...]


YES_NO = (("false", "no"), ("true", "yes"))
FORMS = (
    RecordForm("recist", "RECIST 1.1 assessment", (
        Input("date", "Scan date", "date"),
        Input("target_lesion_sum_mm", "Sum of target-lesion diameters (mm)", "number",
              optional=True, hint="Leave blank if not measured."),
        Input("new_lesions", "New lesions", "yesno", YES_NO),
        Input("non_target_progression", "Unequivocal progression of non-target disease",
              "yesno", YES_NO))),
    RecordForm("ca125", "CA-125 value", (
        Input("date", "Date drawn", "date"),
        Input("value", "Value", "number"),
        Input("unit", "Unit", "choice", (("U/mL", "U/mL"), ("kU/L", "kU/L"))))),
    RecordForm("surgery", "Secondary cytoreductive surgery", (
        Input("date", "Date of surgery", "date"),
        Input("complete_resection", "Complete resection", "yesno", YES_NO),
        Input("residual_disease", "Residual disease", "choice", (
            ("none", "none"), ("<1cm", "< 1 cm"), (">=1cm", "≥ 1 cm"), ("unknown", "unknown"))),
    )),
    RecordForm("death", "Death", (
        Input("date", "Date of death", "date"), Input("cause", "Cause", "text"))),
    RecordForm("withdrawal", "Withdrawal of consent", (
        Input("date", "Date", "date"), Input("reason", "Reason", "text"))),
    RecordForm("lost_to_followup", "Lost to follow-up", (
        Input("last_contact_date", "Last contact date", "date"),)),
)
BY_TYPE = {f.type: f for f in FORMS}


def labels(form: RecordForm) -> dict[str, str]:
    return {i.name: i.label for i in form.inputs} | {
        "correction_reason": "Reason for the correction", "supersedes": "Corrected record"}


def read_record(form: RecordForm, posted: Mapping[str, str]
                ) -> tuple[dict[str, Any], dict[str, str]]:
    """The API body of a posted record form, and the inputs that cannot be read."""
    body: dict[str, Any] = {"type": form.type}
    errors: dict[str, str] = {}
    for field in form.inputs:
        raw = posted.get(field.name, "").strip()
        if raw == "":
            if field.optional:
                body[field.name] = None
            else:
                errors[field.name] = "This is required."
        elif field.kind == "number":
            try:
                body[field.name] = float(raw.replace(",", "."))
            except ValueError:
                errors[field.name] = "Enter a number, e.g. 42."
        elif field.kind == "yesno":
            body[field.name] = raw == "true"
        else:
            body[field.name] = raw
    if posted.get("supersedes"):
        body["supersedes"] = posted["supersedes"]
        body["correction_reason"] = posted.get("correction_reason", "").strip() or None
        if body["correction_reason"] is None:
            errors["correction_reason"] = "Say why the record is corrected."
    return body, errors


def prefilled(record: Mapping[str, Any]) -> dict[str, str]:
    """A stored record's values as the form shows them (for a correction)."""
    values = {"date" if record["type"] != "lost_to_followup" else "last_contact_date":
              str(record["date"])}
    for name, value in record["data"].items():
        if isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif value is not None:
            values[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return values
