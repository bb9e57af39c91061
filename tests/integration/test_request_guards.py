"""Guards every service keeps against heavy and hostile requests, on every write route.

- A body over its route's limit is 413 problem+json naming the limit, before it is read past it
  (with or without Content-Length, with or without an Idempotency-Key), and nothing is stored.
- JSON nested far deeper than any real document is 400 problem+json, never a 500.
- An unexpected exception answers 500 problem+json with the correlation id, never text/plain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from sqlmodel import func, select

from rescue_eligibility.app import DEFINITION as ELIGIBILITY
from rescue_eligibility.settings import EligibilitySettings
from rescue_followup.app import DEFINITION as FOLLOWUP
from rescue_followup.settings import FollowupSettings
from rescue_prediction.app import DEFINITION as PREDICTION
from rescue_prediction.settings import PredictionSettings
from rescue_randomization.app import DEFINITION as RANDOMIZATION
from rescue_randomization.settings import RandomizationSettings
from rescue_shared.db.platform_tables import IdempotencyRecord
from rescue_shared.errors import Conflict, invalid_fields
from rescue_shared.service import ServiceDefinition
from rescue_shared.testing import RunningService, auth, run_service, settings_for

pytestmark = pytest.mark.integration

SERVICES = {
    "eligibility": (ELIGIBILITY, EligibilitySettings),
    "prediction": (PREDICTION, PredictionSettings),
    "randomization": (RANDOMIZATION, RandomizationSettings),
    "followup": (FOLLOWUP, FollowupSettings),
}
EVERY_ROLE = ("site_user", "investigator", "statistician", "monitor", "admin")
SMALL_LIMIT = 4096
BULK_LIMIT = 65536


def write_routes(app: FastAPI, *, json_bodies_only: bool = False,
                 ) -> Iterator[tuple[str, str, str]]:
    """(method, concrete path, media type) of every POST/PUT/PATCH operation, from the
    service's own OpenAPI document (the routes it really serves); with `json_bodies_only`, only
    those whose documented body is JSON."""
    count = 0
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if method.upper() not in {"POST", "PUT", "PATCH"}:
                continue
            media = operation.get("requestBody", {}).get("content", {})
            json_type = next((m for m in media if m.endswith("json")), None)
            if json_bodies_only and json_type is None:
                continue
            count += 1
            yield (method.upper(), path.replace("{subject_id}", "S01-0001"),
                   json_type or "application/json")
    assert count, "no write route found"


@pytest.fixture(params=list(SERVICES))
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningService]:
    definition, settings_cls = SERVICES[request.param]
    settings = settings_for(settings_cls, database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db",
                            messaging_enabled=False, max_request_body_bytes=SMALL_LIMIT,
                            max_bulk_request_body_bytes=BULK_LIMIT)
    async with run_service(definition, settings) as running:
        yield running


def bulk_paths_of(service: RunningService) -> tuple[str, ...]:
    for definition, settings_cls in SERVICES.values():
        if isinstance(service.settings, settings_cls):
            return tuple(definition.bulk_paths)
    raise AssertionError("unknown service")


def deeply_nested(depth: int = 100_000) -> bytes:
    return b"[" * depth + b"]" * depth


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_a_body_over_the_limit_is_413_on_every_write_route(
    service: RunningService,
) -> None:
    bulk = bulk_paths_of(service)
    for method, path, media_type in write_routes(service.app):
        headers = auth("S01", *EVERY_ROLE) | {"Content-Type": media_type}
        limit = BULK_LIMIT if path in bulk else SMALL_LIMIT
        body = b'{"padding": "' + b"x" * limit + b'"}'
        declared = await service.client.request(method, path, content=body, headers=headers)
        assert assert_problem(declared, 413)["limit_bytes"] == limit

        async def chunks(payload: bytes = body) -> AsyncIterator[bytes]:
            for start in range(0, len(payload), 1024):
                yield payload[start:start + 1024]

        streamed = await service.client.request(  # no Content-Length: counted as it arrives
            method, path, content=chunks(), headers=headers | {"Idempotency-Key": path})
        assert str(limit) in assert_problem(streamed, 413)["detail"]
    async with service.app.state.database.session() as session:
        claims = (await session.exec(select(func.count()).select_from(IdempotencyRecord))).one()
    assert claims == 0  # refused before the idempotency middleware read or claimed anything


async def test_deeply_nested_json_is_400_on_every_write_route(service: RunningService) -> None:
    bulk = bulk_paths_of(service)
    for method, path, media_type in write_routes(service.app, json_bodies_only=True):
        headers = auth("S01", *EVERY_ROLE) | {"Content-Type": media_type}
        depth = 20_000 if path in bulk else 1_000
        response = await service.client.request(method, path, content=deeply_nested(depth),
                                                headers=headers)
        assert response.status_code == 400, (path, response.text[:300])
        if media_type == "application/fhir+json":  # FHIR answers in its own error format
            assert response.json()["resourceType"] == "OperationOutcome"
        else:
            assert_problem(response, 400)


async def test_an_unexpected_error_is_problem_json_with_the_correlation_id(
    tmp_path: Path,
) -> None:
    broken = APIRouter()

    @broken.get("/v1/broken")
    async def fail() -> None:
        raise ZeroDivisionError("a bug")

    definition = ServiceDefinition(
        name=ELIGIBILITY.name, title="t", description="d", migrations=ELIGIBILITY.migrations,
        routers=[*ELIGIBILITY.routers, broken])
    settings = settings_for(EligibilitySettings, messaging_enabled=False,
                            database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db")
    async with run_service(definition, settings) as service:
        response = await service.client.get("/v1/broken",
                                             headers={"X-Correlation-ID": "trace-me-123"})
    problem = assert_problem(response, 500)
    assert problem["correlation_id"] == "trace-me-123"
    assert response.headers["x-correlation-id"] == "trace-me-123"
    assert "a bug" not in response.text  # internals stay in the log


async def test_use_case_errors_answer_problem_json_with_their_status(tmp_path: Path) -> None:
    raising = APIRouter()

    @raising.get("/v1/conflict")
    async def conflict() -> None:
        raise Conflict("CA-125 on 2026-01-05 is already recorded as 812 U/mL",
                       title="Conflicting CA-125 value")

    @raising.get("/v1/invalid")
    async def invalid() -> None:
        raise invalid_fields([{"field": "reason", "rule": "min_words", "message": "too short"}])

    definition = ServiceDefinition(
        name=ELIGIBILITY.name, title="t", description="d", migrations=ELIGIBILITY.migrations,
        routers=[raising])
    settings = settings_for(EligibilitySettings, messaging_enabled=False,
                            database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db")
    async with run_service(definition, settings) as service:
        conflicting = assert_problem(await service.client.get("/v1/conflict"), 409)
        refused = assert_problem(await service.client.get("/v1/invalid"), 422)
    assert conflicting["title"] == "Conflicting CA-125 value"
    assert refused["detail"] == "invalid field(s): reason"
    assert refused["errors"] == [{"field": "reason", "rule": "min_words", "message": "too short"}]
