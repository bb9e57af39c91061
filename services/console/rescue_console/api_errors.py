"""An API's problem+json answer, said in plain words with the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# What a person should read for a status the API did not explain better.
_PLAIN: dict[int, str] = {
    400: "The request could not be read.",
    401: "Your sign-in is no longer valid. Please sign in again.",
    403: "Your role does not allow this action.",
    404: "Not found, or not visible to your site.",
    409: "This conflicts with what is already recorded.",
    413: "This is too large to send at once.",
    422: "Some values are not valid; nothing was saved.",
    429: "Too many requests; please wait a moment and try again.",
}


@dataclass(frozen=True)
class FieldProblem:
    field: str  # the API's dotted path, e.g. facts.age_years
    label: str  # what the form calls it
    message: str


@dataclass
class ApiError(Exception):
    """A failed API call: `summary` for the page, `fields` for the inputs concerned."""

    status: int
    service: str
    summary: str
    fields: list[FieldProblem] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.summary

    def message_for(self, field_path: str) -> str | None:
        """The message for one input (the API path, or a path ending with it)."""
        for problem in self.fields:
            if problem.field == field_path or problem.field.endswith("." + field_path):
                return problem.message
        return None


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def humanize_field(path: str) -> str:
    """`facts.platinum_free_interval_months` → `platinum free interval months`."""
    last = [p for p in path.split(".") if not p.isdigit()][-1:] or [path]
    return last[0].replace("_", " ")


def _message(raw: str) -> str:
    # pydantic prefixes custom errors with "Value error, "; the person needs only the rule.
    for prefix in ("Value error, ", "Assertion failed, "):
        if raw.startswith(prefix):
            raw = raw[len(prefix):]
    return _sentence(raw)


def from_problem(service: str, status: int, body: Any,
                 labels: dict[str, str] | None = None) -> ApiError:
    """Read a problem+json body (or anything else) into an ApiError a person can act on."""
    labels = labels or {}
    problem = body if isinstance(body, dict) else {}
    fields = []
    for entry in problem.get("errors") or []:
        if not isinstance(entry, dict):
            continue
        path = str(entry.get("field", ""))
        label = labels.get(path) or labels.get(path.split(".")[-1]) or humanize_field(path)
        name = path.split(".")[-1]
        # "screening_date must not be..." → "Screening date must not be..."
        message = _message(str(entry.get("message", "")).replace(name, label) if name
                           else str(entry.get("message", "")))
        fields.append(FieldProblem(path, label, message))
    detail = str(problem.get("detail") or "")
    if status == 422 and fields:
        names = ", ".join(dict.fromkeys(f.label for f in fields))
        summary = f"Nothing was saved. Please correct: {names}."
    elif detail and status == 404:  # the same answer whether unknown or another site's
        summary = _sentence(detail) + " It may not exist, or not be visible to your site."
    elif detail and status not in (401, 500, 502, 503):
        summary = _sentence(detail)
    else:
        summary = _PLAIN.get(status, f"The {service} service could not do this (error "
                                     f"{status}). Please try again, or tell the trial team.")
    extensions = {k: v for k, v in problem.items()
                  if k not in {"type", "title", "status", "detail", "instance", "errors"}}
    return ApiError(status, service, summary, fields, extensions)


def unreachable(service: str) -> ApiError:
    return ApiError(503, service, f"The {service} service is not answering right now. "
                                  "Please try again in a moment.")
