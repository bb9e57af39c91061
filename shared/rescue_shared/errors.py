"""Errors a use case raises, in the trial's terms; the HTTP edge turns each into problem+json.

Use cases and repositories never speak HTTP: they raise `NotFound`, `Conflict`, `Invalid`, ...
with a detail a person can act on (and, for `Invalid`, one entry per bad field naming the broken
rule). `rescue_shared.http.problems` maps each kind to its status; the title may be given when a
more precise one helps the caller ("Conflicting CA-125 value").
"""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict


class FieldError(TypedDict):
    """One bad field: its dotted path, the rule it broke, and a message."""

    field: str
    rule: str
    message: str


class ServiceError(Exception):
    """Base of the errors a use case raises; `status` is the HTTP status it maps to."""

    status: ClassVar[int] = 400
    default_title: ClassVar[str] = "Bad Request"

    def __init__(self, detail: str, *, title: str | None = None,
                 errors: list[FieldError] | list[dict[str, Any]] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.title = title or self.default_title
        self.extensions: dict[str, Any] = dict(extensions)
        if errors is not None:
            self.extensions["errors"] = errors


class NotFound(ServiceError):
    """Unknown, or not visible to the caller (another site's subject looks exactly the same)."""

    status = 404
    default_title = "Not found"


class Forbidden(ServiceError):
    status = 403
    default_title = "Forbidden"


class Conflict(ServiceError):
    """The request contradicts what is recorded (a different value for a known day, ...)."""

    status = 409
    default_title = "Conflict"


class Invalid(ServiceError):
    """Input that breaks a rule the schema cannot express; nothing was stored."""

    status = 422
    default_title = "Invalid request"


class TooLarge(ServiceError):
    status = 413
    default_title = "Content Too Large"


def invalid_fields(errors: list[FieldError] | list[dict[str, Any]], *,
                   title: str | None = None) -> Invalid:
    """An `Invalid` whose detail lists the bad fields, as request validation does."""
    fields = ", ".join(dict.fromkeys(str(e["field"]) for e in errors))
    return Invalid(f"invalid field(s): {fields}", title=title, errors=errors)
