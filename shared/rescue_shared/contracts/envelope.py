"""The envelope every event travels in, whatever its payload."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar, cast

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

P = TypeVar("P")  # the payload model; any JSON object while the type is unknown


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
        raise ValueError("occurred_at must be a UTC timestamp (suffix Z or +00:00)")
    return value


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]


class EventEnvelope(BaseModel, Generic[P]):
    """Metadata common to every event; `payload` is the event type's own model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(description="Unique id; consumers deduplicate on it.")
    event_type: str = Field(description="Past-tense name, e.g. eligibility.screened.")
    schema_version: int = Field(ge=1, description="Version of the payload schema.")
    occurred_at: UtcDatetime = Field(description="When the fact happened (UTC).")
    producer: str = Field(description="Service that produced the event.")
    trial_id: str
    site_id: str = Field(description="Site the subject belongs to.")
    subject_id: str = Field(description="Site pseudonym of the subject; also the Kafka key.")
    correlation_id: str = Field(description="Id of the request or flow this event belongs to.")
    causation_id: str | None = Field(
        None, description="event_id (or request id) of what directly caused this event."
    )
    payload: P


@functools.cache
def envelope_model(payload_model: type[BaseModel]) -> type[EventEnvelope[Any]]:
    """The envelope parametrized by a payload model chosen at run time (registry lookups).

    Cached: pydantic keeps parametrized generics only weakly, so without a strong reference
    each event would rebuild the class (a millisecond per event on the write paths)."""
    return cast("type[EventEnvelope[Any]]", EventEnvelope.__class_getitem__(payload_model))
