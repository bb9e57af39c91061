"""Export the event contracts: one JSON Schema per event type and an AsyncAPI 3.0 document.

`make contracts` writes them to docs/contracts/; a test fails when they are out of date.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rescue_shared.contracts.envelope import envelope_model
from rescue_shared.contracts.registry import EVENT_TYPES, TOPICS, EventType


def _title(spec: EventType) -> str:
    return "".join(part.capitalize() for part in spec.name.replace(".", "_").split("_"))


def event_schema(spec: EventType) -> dict[str, Any]:
    """JSON Schema of the whole message (envelope with this event's payload)."""
    schema = envelope_model(spec.payload_model).model_json_schema()
    schema["title"] = f"{_title(spec)}V{spec.schema_version}"
    schema["description"] = spec.description
    schema["properties"]["event_type"]["const"] = spec.name
    schema["properties"]["schema_version"]["const"] = spec.schema_version
    return schema


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in TOPICS.values():
        channel_id = topic.name.replace(".", "_")
        channel_messages = {}
        for spec in (e for e in EVENT_TYPES if e.topic == topic):
            message_id = f"{spec.name.replace('.', '_')}_v{spec.schema_version}"
            messages[message_id] = {
                "name": spec.name,
                "title": _title(spec),
                "summary": spec.description,
                "contentType": "application/json",
                "bindings": {"kafka": {"key": {"type": "string", "description": "subject_id"}}},
                "payload": {"$ref": f"./schemas/{message_id}.json"},
            }
            channel_messages[message_id] = {"$ref": f"#/components/messages/{message_id}"}
        channels[channel_id] = {
            "address": topic.name,
            "description": f"{topic.description} Dead letters: {topic.dead_letter}.",
            "messages": channel_messages,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Published by the {topic.producer} service through its outbox.",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "RESCUE trial platform events",
            "version": "1.0.0",
            "description": (
                "Events exchanged by the RESCUE services over Kafka. Every message is an envelope "
                "(event_id, event_type, schema_version, occurred_at, producer, trial_id, site_id, "
                "subject_id, correlation_id, causation_id, payload); the key is subject_id."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render_all() -> dict[str, str]:
    """Relative path -> file content of every exported document."""
    files = {"asyncapi.json": json.dumps(asyncapi_document(), indent=2) + "\n"}
    for spec in EVENT_TYPES:
        name = f"schemas/{spec.name.replace('.', '_')}_v{spec.schema_version}.json"
        files[name] = json.dumps(event_schema(spec), indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/contracts", type=Path)
    args = parser.parse_args(argv)
    for relative, content in render_all().items():
        path = args.out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    print(f"wrote {len(render_all())} files to {args.out}")


if __name__ == "__main__":
    main()
