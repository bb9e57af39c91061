"""The use cases' clock: aware UTC instants (dates in the trial's zone come from them)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
