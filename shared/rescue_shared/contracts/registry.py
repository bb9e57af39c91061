"""One registry of topics and event types: names, versions, payload models, descriptions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from rescue_shared.contracts import events
from rescue_shared.contracts.envelope import EventEnvelope, envelope_model


class ContractError(ValueError):
    """A message that does not satisfy the event contract (malformed, invalid payload)."""


class UnknownEventType(ContractError):
    """A well-formed envelope whose (event_type, schema_version) this build does not know."""

    def __init__(self, event_type: str, schema_version: object) -> None:
        super().__init__(f"unknown event type {event_type!r} version {schema_version!r}")
        self.event_type = event_type
        self.schema_version = schema_version


@dataclass(frozen=True)
class Topic:
    name: str
    producer: str
    description: str

    @property
    def dead_letter(self) -> str:
        return f"{self.name}.DLT"


@dataclass(frozen=True)
class EventType:
    name: str
    schema_version: int
    topic: Topic
    payload_model: type[BaseModel]
    description: str


ELIGIBILITY = Topic("rescue.eligibility.v1", "eligibility", "Screening decisions.")
PREDICTION = Topic("rescue.prediction.v1", "prediction", "Complete-resection predictions.")
RANDOMIZATION = Topic("rescue.randomization.v1", "randomization", "Arm allocations.")
FOLLOWUP = Topic("rescue.followup.v1", "followup", "Progression, death and withdrawal.")

TOPICS: dict[str, Topic] = {t.name: t for t in (ELIGIBILITY, PREDICTION, RANDOMIZATION, FOLLOWUP)}

EVENT_TYPES: tuple[EventType, ...] = (
    EventType("eligibility.screened", 1, ELIGIBILITY, events.SubjectScreened,
              "A candidate was screened against the protocol's criteria."),
    EventType("eligibility.confirmed", 1, ELIGIBILITY, events.EligibilityConfirmed,
              "Final eligibility after the prediction: eligible."),
    EventType("eligibility.rejected", 1, ELIGIBILITY, events.EligibilityRejected,
              "Final eligibility after the prediction: ineligible."),
    EventType("prediction.completed", 1, PREDICTION, events.PredictionCompleted,
              "A complete-resection classification was reached or superseded."),
    EventType("randomization.assigned", 1, RANDOMIZATION, events.RandomizationAssigned,
              "A subject was allocated an arm."),
    EventType("randomization.invalidated", 1, RANDOMIZATION, events.RandomizationInvalidated,
              "An allocation was marked as made in error; it is never deleted."),
    EventType("randomization.strata_verified", 1, RANDOMIZATION,
              events.RandomizationStrataVerified,
              "A stratification factor was verified against source data; the allocation and "
              "its stratum as randomized never change."),
    EventType("followup.progression_recorded", 1, FOLLOWUP, events.ProgressionRecorded,
              "A PFS event (progression or death) was derived."),
    EventType("followup.subject_withdrawn", 1, FOLLOWUP, events.SubjectWithdrawn,
              "A subject withdrew from follow-up."),
    EventType("eligibility.query_changed", 1, ELIGIBILITY, events.EligibilityQueryChanged,
              "A data query on eligibility's records was opened, answered, closed or re-opened."),
    EventType("prediction.query_changed", 1, PREDICTION, events.PredictionQueryChanged,
              "A data query on prediction's records was opened, answered, closed or re-opened."),
    EventType("randomization.query_changed", 1, RANDOMIZATION,
              events.RandomizationQueryChanged,
              "A data query on randomization's records was opened, answered, closed or "
              "re-opened."),
    EventType("followup.query_changed", 1, FOLLOWUP, events.FollowupQueryChanged,
              "A data query on follow-up's records was opened, answered, closed or re-opened."),
)

_BY_KEY = {(e.name, e.schema_version): e for e in EVENT_TYPES}
_BY_MODEL = {e.payload_model: e for e in EVENT_TYPES}


def event_type_of(payload_model: type[BaseModel]) -> EventType:
    """The registered event type a payload model belongs to."""
    try:
        return _BY_MODEL[payload_model]
    except KeyError:
        raise ContractError(f"{payload_model.__name__} is not a registered payload") from None


def parse_event(raw: bytes | str) -> EventEnvelope[Any]:
    """Decode and validate a message value into an envelope with its typed payload."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"message is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ContractError("message is not a JSON object")
    name, version = data.get("event_type"), data.get("schema_version")
    spec = (_BY_KEY.get((name, version))
            if isinstance(name, str) and isinstance(version, int) else None)
    if spec is None:
        try:
            EventEnvelope[dict[str, Any]].model_validate(data)
        except ValidationError as exc:
            raise ContractError(f"invalid envelope: {exc}") from exc
        raise UnknownEventType(str(name), version)
    try:
        return envelope_model(spec.payload_model).model_validate(data)
    except ValidationError as exc:
        raise ContractError(f"invalid {spec.name} v{spec.schema_version}: {exc}") from exc
