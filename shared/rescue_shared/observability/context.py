"""The correlation id of the request or event being handled, for logs and emitted events."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# (caller, key) of the Idempotency-Key claim the current request holds, if any.
idempotency_claim_var: ContextVar[tuple[str, str] | None] = ContextVar("idempotency_claim",
                                                                       default=None)


def current_correlation_id() -> str:
    """The id of the flow in progress, or a new one when nothing set it."""
    return correlation_id_var.get() or str(uuid.uuid4())
