"""Event contracts: envelope rules, payload validation, the registry and the exported documents."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from rescue_shared.contracts import EVENT_TYPES, TOPICS, ContractError, new_event, parse_event
from rescue_shared.contracts.events import SubjectScreened, SubjectWithdrawn
from rescue_shared.contracts.export import render_all
from rescue_shared.contracts.registry import UnknownEventType

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts"


def withdrawn(**envelope: object) -> str:
    event = new_event(
        SubjectWithdrawn(withdrawal_date=date(2026, 5, 1), reason="patient's wish"),
        producer="followup", trial_id="NCT07295132", site_id="S01", subject_id="S01-0001",
        correlation_id="req-1", **envelope)  # type: ignore[arg-type]
    return event.model_dump_json()


def test_an_event_round_trips_with_its_typed_payload() -> None:
    parsed = parse_event(withdrawn())
    assert parsed.event_type == "followup.subject_withdrawn"
    assert parsed.schema_version == 1
    assert isinstance(parsed.payload, SubjectWithdrawn)
    assert parsed.payload.withdrawal_date == date(2026, 5, 1)
    assert parsed.occurred_at.utcoffset() == timedelta(0)


def test_occurred_at_must_be_utc() -> None:
    with pytest.raises(ValidationError, match="UTC"):
        withdrawn(occurred_at=datetime(2026, 5, 1, 9, tzinfo=timezone(timedelta(hours=9))))
    naive = json.loads(withdrawn())
    naive["occurred_at"] = "2026-05-01T09:00:00"
    with pytest.raises(ContractError, match="UTC"):
        parse_event(json.dumps(naive))


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_garbage_is_a_contract_error(raw: bytes) -> None:
    with pytest.raises(ContractError):
        parse_event(raw)


def test_an_invalid_payload_is_a_contract_error_naming_the_field() -> None:
    message = json.loads(withdrawn())
    del message["payload"]["reason"]
    with pytest.raises(ContractError, match="reason"):
        parse_event(json.dumps(message))


def test_an_unknown_event_type_or_version_is_recognised_as_such() -> None:
    message = json.loads(withdrawn())
    message["schema_version"] = 99
    with pytest.raises(UnknownEventType):
        parse_event(json.dumps(message))


def test_newer_producers_additive_fields_pass_through_older_consumers() -> None:
    message = json.loads(withdrawn())
    message["payload"]["withdrawal_form_version"] = "2.1"
    assert parse_event(json.dumps(message)).payload.reason == "patient's wish"


def test_every_event_type_is_on_a_registered_topic_with_a_unique_name_and_version() -> None:
    keys = [(e.name, e.schema_version) for e in EVENT_TYPES]
    assert len(keys) == len(set(keys))
    for spec in EVENT_TYPES:
        assert spec.topic.name in TOPICS
        assert spec.name.split(".")[0] == spec.topic.producer


def test_screened_payload_rejects_an_unknown_outcome() -> None:
    with pytest.raises(ValidationError, match="outcome"):
        SubjectScreened(screening_id=uuid.uuid4(), screening_date=date(2026, 3, 2),
                        protocol_version="1", outcome="maybe",  # type: ignore[arg-type]
                        awaiting_prediction=False)


def test_exported_contracts_are_up_to_date() -> None:
    for relative, content in render_all().items():
        path = DOCS / relative
        assert path.exists() and path.read_text() == content, (
            f"{path} is stale: run `make contracts`")
    asyncapi = json.loads((DOCS / "asyncapi.json").read_text())
    assert set(asyncapi["components"]["messages"]) == {
        f"{e.name.replace('.', '_')}_v{e.schema_version}" for e in EVENT_TYPES}
