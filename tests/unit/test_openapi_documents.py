"""The four OpenAPI documents state the shared conventions on every operation, including a route
a service adds later (the app factory documents them, not each route). Fast: no server, no
database; schemathesis checks the services' real answers in tests/contract/."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from harness import SERVICES
from pydantic import BaseModel

from rescue_shared.auth import AnyTrialRole
from rescue_shared.http.problem_types import PROBLEM_TYPE_BASE
from rescue_shared.service import ServiceDefinition, create_service_app

PROBLEM = "application/problem+json"


def document(name: str) -> dict[str, Any]:
    definition, settings_cls = SERVICES[name]
    app = create_service_app(definition, settings_cls(messaging_enabled=False))
    return app.openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items()
            for method, op in item.items()]


def header_names(doc: dict[str, Any], op: dict[str, Any]) -> set[str]:
    names = set()
    for parameter in op.get("parameters", []):
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "header":
            names.add(parameter["name"])
    return names


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_operation_documents_its_errors_headers_and_examples(name: str) -> None:
    doc = document(name)
    assert "HTTPValidationError" not in str(doc) and "about:blank" not in str(doc)
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids))
    for method, path, op in operations(doc):
        label = f"{method.upper()} {path}"
        responses = op["responses"]
        for status, response in responses.items():
            assert "X-Correlation-ID" in response["headers"], label
            if status[0] in "45" and "fhir" not in str(response.get("content")):
                assert PROBLEM in response["content"], (label, status)
        assert "500" in responses, label
        assert "X-Correlation-ID" in header_names(doc, op), label
        if any(p["in"] == "path" for p in op.get("parameters", []) if "in" in p):
            assert "404" in responses, label
        if op.get("security"):
            assert {"401", "403"} <= set(responses), label
        if method == "post":
            assert {"400", "409", "413"} <= set(responses), label
            assert "Idempotency-Key" in header_names(doc, op), label
        if "requestBody" in op:
            assert any("example" in media for media in op["requestBody"]["content"].values()), (
                f"{label} has no request example")
        for status, response in responses.items():
            for media, content in response.get("content", {}).items():
                assert content.get("schema"), (label, status, media)


class Note(BaseModel):
    text: str


def test_a_route_added_later_gets_the_conventions_without_declaring_them() -> None:
    router = APIRouter()

    @router.post("/v1/notes/{note_id}")
    async def add_note(note_id: str, body: Note, principal: AnyTrialRole) -> Note:
        return body

    definition = ServiceDefinition(name="notes", title="t", description="d", migrations="x:y",
                                   routers=[router])
    doc = create_service_app(definition, SERVICES["eligibility"][1](
        messaging_enabled=False)).openapi()
    op = doc["paths"]["/v1/notes/{note_id}"]["post"]
    assert op["operationId"] == "add_note"
    assert {"400", "401", "403", "404", "409", "413", "422", "500"} <= set(op["responses"])
    assert op["responses"]["422"]["content"] == {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    assert PROBLEM_TYPE_BASE in str(doc["components"]["schemas"]["ProblemDetails"])
