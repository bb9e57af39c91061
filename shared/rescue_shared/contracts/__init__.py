"""Event contracts: the envelope, typed payloads and the topic registry (one source of truth)."""

from rescue_shared.contracts.envelope import EventEnvelope
from rescue_shared.contracts.factory import new_event
from rescue_shared.contracts.registry import (
    EVENT_TYPES,
    TOPICS,
    ContractError,
    EventType,
    parse_event,
)

__all__ = [
    "EVENT_TYPES",
    "TOPICS",
    "ContractError",
    "EventEnvelope",
    "EventType",
    "new_event",
    "parse_event",
]
