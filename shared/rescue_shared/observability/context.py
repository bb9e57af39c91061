"""The correlation id of the request or event being handled, for logs and emitted events."""

from __future__ import annotations

import uuid
from contextvars import ContextVar

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def current_correlation_id() -> str:
    """The id of the flow in progress, or a new one when nothing set it."""
    return correlation_id_var.get() or str(uuid.uuid4())
