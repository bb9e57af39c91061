"""The problem types the services answer with: stable URIs, one per kind of refusal.

A client branches on `type`, never on `title` or `detail` (those are for people and may be
reworded). Each URI is documented in docs/problems.md; adding one means documenting it there
(tests/unit/test_problem_types.py checks that both agree).
"""

from __future__ import annotations

from enum import StrEnum

PROBLEM_TYPE_BASE = "https://rescue-trial.org/problems/"


class ProblemType(StrEnum):
    BAD_REQUEST = PROBLEM_TYPE_BASE + "bad-request"
    INVALID_IDEMPOTENCY_KEY = PROBLEM_TYPE_BASE + "invalid-idempotency-key"
    UNAUTHORIZED = PROBLEM_TYPE_BASE + "unauthorized"
    FORBIDDEN = PROBLEM_TYPE_BASE + "forbidden"
    NOT_FOUND = PROBLEM_TYPE_BASE + "not-found"
    METHOD_NOT_ALLOWED = PROBLEM_TYPE_BASE + "method-not-allowed"
    CONFLICT = PROBLEM_TYPE_BASE + "conflict"
    IDEMPOTENCY_KEY_REUSED = PROBLEM_TYPE_BASE + "idempotency-key-reused"
    REQUEST_IN_PROGRESS = PROBLEM_TYPE_BASE + "request-in-progress"
    REQUEST_ALREADY_APPLIED = PROBLEM_TYPE_BASE + "request-already-applied"
    PAYLOAD_TOO_LARGE = PROBLEM_TYPE_BASE + "payload-too-large"
    UNSUPPORTED_MEDIA_TYPE = PROBLEM_TYPE_BASE + "unsupported-media-type"
    VALIDATION_ERROR = PROBLEM_TYPE_BASE + "validation-error"
    INTERNAL_ERROR = PROBLEM_TYPE_BASE + "internal-error"
    UNAVAILABLE = PROBLEM_TYPE_BASE + "unavailable"


# The type of a problem that names none of its own: one per status.
_BY_STATUS = {
    400: ProblemType.BAD_REQUEST,
    401: ProblemType.UNAUTHORIZED,
    403: ProblemType.FORBIDDEN,
    404: ProblemType.NOT_FOUND,
    405: ProblemType.METHOD_NOT_ALLOWED,
    409: ProblemType.CONFLICT,
    413: ProblemType.PAYLOAD_TOO_LARGE,
    415: ProblemType.UNSUPPORTED_MEDIA_TYPE,
    422: ProblemType.VALIDATION_ERROR,
    500: ProblemType.INTERNAL_ERROR,
    503: ProblemType.UNAVAILABLE,
}


def problem_type_for(status: int) -> str:
    """The documented type of a status; a status without one of its own (a 4xx or 5xx never
    answered today) falls back to the generic client or server error."""
    if status in _BY_STATUS:
        return _BY_STATUS[status].value
    return (ProblemType.BAD_REQUEST if status < 500 else ProblemType.INTERNAL_ERROR).value
