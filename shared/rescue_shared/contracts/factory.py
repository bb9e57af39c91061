"""Building envelopes: a registered payload in a fresh envelope (type and version from the
registry). Kept apart from `envelope` so that the envelope and the registry do not import each
other."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TypeVar, cast

from pydantic import BaseModel

from rescue_shared.contracts.envelope import EventEnvelope, envelope_model
from rescue_shared.contracts.registry import event_type_of

P = TypeVar("P", bound=BaseModel)


def new_event(
    payload: P,
    *,
    producer: str,
    trial_id: str,
    site_id: str,
    subject_id: str,
    correlation_id: str,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> EventEnvelope[P]:
    """Wrap a registered payload in a fresh envelope (type and version come from the registry)."""
    spec = event_type_of(type(payload))
    # The envelope parametrized by the payload's own class, so that it serializes every field.
    model = cast("type[EventEnvelope[P]]", envelope_model(type(payload)))
    return model(
        event_id=uuid.uuid4(), event_type=spec.name, schema_version=spec.schema_version,
        occurred_at=occurred_at or datetime.now(UTC), producer=producer, trial_id=trial_id,
        site_id=site_id, subject_id=subject_id, correlation_id=correlation_id,
        causation_id=causation_id, payload=payload,
    )
