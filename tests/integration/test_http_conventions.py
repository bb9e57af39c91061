"""HTTP conventions every service keeps, shown on the eligibility service with a real database.

Authentication (401), roles (403), site scoping (404), problem+json naming fields, idempotent
POSTs, health, readiness and metrics.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from harness import ELIGIBLE_FACTS
from sqlmodel import func, select

from rescue_eligibility.adapters.tables import EligibilityScreening
from rescue_eligibility.app import DEFINITION
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.auth.mint import mint_token
from rescue_shared.db.platform_tables import IdempotencyRecord, OutboxMessage
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET
from rescue_shared.testing import RunningService, auth, run_service, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def eligibility(database_url: str) -> AsyncIterator[RunningService]:
    settings = settings_for(EligibilitySettings, database_url=database_url,
                            messaging_enabled=False)
    async with run_service(DEFINITION, settings) as service:
        yield service


def screening(subject_id: str = "S01-0001", **facts: Any) -> dict[str, Any]:
    return {"subject_id": subject_id, "screening_date": "2026-03-02",
            "facts": {**ELIGIBLE_FACTS, **facts}}


async def stored(service: RunningService) -> tuple[int, int]:
    """(screenings, outbox events) in the service's database."""
    async with service.app.state.database.session() as session:
        screenings = (await session.exec(
            select(func.count()).select_from(EligibilityScreening))).one()
        events = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    return screenings, events


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_no_token_is_401(eligibility: RunningService) -> None:
    response = await eligibility.client.post("/v1/screenings", json=screening())
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_badly_signed_token_is_401(eligibility: RunningService) -> None:
    forged = mint_token(sub="mallory", site_id="S01", roles=["site_user"],
                        secret="not-the-trial-secret-not-the-trial-secret")
    response = await eligibility.client.post(
        "/v1/screenings", json=screening(), headers={"Authorization": f"Bearer {forged}"})
    assert "Signature" in assert_problem(response, 401)["detail"]


async def test_expired_token_is_401(eligibility: RunningService) -> None:
    expired = mint_token(sub="u", site_id="S01", roles=["site_user"],
                         secret=LOCAL_DEV_JWT_SECRET, ttl=timedelta(minutes=5),
                         now=datetime.now(UTC) - timedelta(hours=1))
    response = await eligibility.client.post(
        "/v1/screenings", json=screening(), headers={"Authorization": f"Bearer {expired}"})
    assert "expired" in assert_problem(response, 401)["detail"]


async def test_wrong_role_is_403(eligibility: RunningService) -> None:
    response = await eligibility.client.post(
        "/v1/screenings", json=screening(), headers=auth(None, "statistician"))
    assert "site_user" in assert_problem(response, 403)["detail"]
    assert await stored(eligibility) == (0, 0)


async def test_another_sites_subject_is_404_but_the_trial_team_sees_it(
    eligibility: RunningService,
) -> None:
    created = await eligibility.client.post(
        "/v1/screenings", json=screening(), headers=auth("S01", "site_user"))
    url = f"/v1/screenings/{created.json()['screening_id']}"

    assert_problem(await eligibility.client.get(url, headers=auth("S02", "site_user")), 404)
    assert (await eligibility.client.get(url, headers=auth("S01", "site_user"))).status_code == 200
    assert (await eligibility.client.get(url, headers=auth(None, "monitor"))).status_code == 200


async def test_invalid_request_names_every_bad_field_and_stores_nothing(
    eligibility: RunningService,
) -> None:
    body = screening(age_years=130, ascites_ml=-1, nact_cycles=0, histology="sarcoma")
    body["facts"]["eye_colour"] = "blue"
    response = await eligibility.client.post("/v1/screenings", json=body,
                                             headers=auth("S01", "site_user"))
    problem = assert_problem(response, 422)
    fields = {e["field"]: e["rule"] for e in problem["errors"]}
    assert fields == {
        "facts.age_years": "less_than_equal", "facts.ascites_ml": "greater_than_equal",
        "facts.nact_cycles": "greater_than_equal", "facts.histology": "enum",
        "facts.eye_colour": "extra_forbidden",
    }
    assert "facts.age_years" in problem["detail"]
    assert await stored(eligibility) == (0, 0)


async def test_retried_post_with_the_same_idempotency_key_has_one_effect(
    eligibility: RunningService,
) -> None:
    headers = auth("S01", "site_user") | {"Idempotency-Key": "hospital-msg-0001"}
    first = await eligibility.client.post("/v1/screenings", json=screening(), headers=headers)
    again = await eligibility.client.post("/v1/screenings", json=screening(), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await stored(eligibility) == (1, 1)

    other = await eligibility.client.post(
        "/v1/screenings", json=screening("S01-0002"), headers=headers)
    assert "different request" in assert_problem(other, 409)["detail"]
    assert await stored(eligibility) == (1, 1)


async def test_concurrent_retries_with_one_key_have_one_effect(
    eligibility: RunningService,
) -> None:
    headers = auth("S01", "site_user") | {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(*(
        eligibility.client.post("/v1/screenings", json=screening(), headers=headers)
        for _ in range(10)))
    created = {r.json()["screening_id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert all(r.status_code in (201, 409) for r in responses)
    assert await stored(eligibility) == (1, 1)


async def test_keys_of_different_callers_do_not_collide(eligibility: RunningService) -> None:
    for user in ("nurse-a", "nurse-b"):
        token = mint_token(sub=user, site_id="S01", roles=["site_user"],
                           secret=LOCAL_DEV_JWT_SECRET)
        response = await eligibility.client.post(
            "/v1/screenings", json=screening(f"S01-{user}"),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"})
        assert response.status_code == 201
    assert await stored(eligibility) == (2, 2)


async def test_health_readiness_metrics_and_openapi(eligibility: RunningService) -> None:
    client = eligibility.client
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
    await client.post("/v1/screenings", json=screening(), headers=auth("S01", "site_user"))
    metrics = (await client.get("/metrics")).text
    assert 'http_requests_total{method="POST",route="/v1/screenings",status="201"} 1.0' in metrics
    schema = (await client.get("/openapi.json")).json()
    assert "/v1/screenings" in schema["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_responses_carry_the_correlation_id(eligibility: RunningService) -> None:
    response = await eligibility.client.get("/healthz", headers={"X-Correlation-ID": "abc-123"})
    assert response.headers["x-correlation-id"] == "abc-123"
    generated = await eligibility.client.get("/healthz")
    assert len(generated.headers["x-correlation-id"]) == 36


def hs256_signed_with(secret: str, claims: dict[str, Any]) -> str:
    """An HS256 token made by hand (PyJWT itself refuses to sign with a PEM key)."""
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    body = {**claims, "exp": int(claims["exp"].timestamp())}
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(json.dumps(body).encode())
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + b64(signature)).decode()


async def test_rs256_tokens_verify_against_the_configured_public_key(database_url: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = settings_for(EligibilitySettings, database_url=database_url,
                            messaging_enabled=False, jwt_algorithm="RS256",
                            jwt_public_key=public_pem, jwt_secret=None)
    claims = {"sub": "u1", "site_id": "S01", "roles": ["site_user"],
              "exp": datetime.now(UTC) + timedelta(minutes=5)}
    good = jwt.encode(claims, key, algorithm="RS256")
    hs256 = hs256_signed_with(public_pem, claims)
    async with run_service(DEFINITION, settings) as service:
        ok = await service.client.post("/v1/screenings", json=screening(),
                                       headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 201
        # The classic algorithm-confusion attack: HS256 signed with the public key.
        forged = await service.client.post("/v1/screenings", json=screening(),
                                           headers={"Authorization": f"Bearer {hs256}"})
        assert_problem(forged, 401)


async def test_an_idempotent_answer_is_recorded_before_the_client_receives_it(
    eligibility: RunningService,
) -> None:
    """A hospital that received an answer never finds its key still open (a crash right after
    the answer would otherwise let a retry run the screening twice)."""
    app = eligibility.app
    body = json.dumps(screening("S01-0009")).encode()
    headers = [(b"content-type", b"application/json"), (b"idempotency-key", b"lab-msg-9"),
               *((k.lower().encode(), v.encode())
                 for k, v in auth("S01", "site_user").items())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/v1/screenings", "raw_path":
             b"/v1/screenings", "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1234), "server": ("test", 80), "app": app}
    delivered = [False]

    async def receive() -> dict[str, Any]:
        if delivered[0]:
            await asyncio.sleep(3600)  # no disconnect while the answer is being written
        delivered[0] = True
        return {"type": "http.request", "body": body, "more_body": False}

    states_at_start: list[tuple[int | None, str | None]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            async with app.state.database.session() as session:
                record = (await session.exec(select(IdempotencyRecord))).one()
            states_at_start.append((record.status_code, record.key))

    await app(scope, receive, send)
    assert states_at_start == [(201, "lab-msg-9")]


async def test_a_retry_after_a_lost_answer_never_applies_the_request_twice(
    eligibility: RunningService,
) -> None:
    """The process died after committing the screening but before recording its answer (the
    claim is open and stale): the retry is told it was applied, with its events, and nothing is
    stored twice."""
    headers = auth("S01", "site_user") | {"Idempotency-Key": "lab-msg-10"}
    first = await eligibility.client.post("/v1/screenings", json=screening("S01-0010"),
                                          headers=headers)
    assert first.status_code == 201
    async with eligibility.app.state.database.session() as session, session.begin():
        record = (await session.exec(select(IdempotencyRecord))).one()
        assert record.effect_committed_at is not None  # marked in the screening's transaction
        record.status_code, record.body = None, None  # as if the answer had never been recorded
        record.created_at = datetime.now(UTC) - timedelta(seconds=3600)
        session.add(record)

    retry = await eligibility.client.post("/v1/screenings", json=screening("S01-0010"),
                                          headers=headers)
    problem = assert_problem(retry, 409)
    assert problem["title"] == "Request already applied"
    assert [e["event_type"] for e in problem["applied_events"]] == ["eligibility.screened"]
    assert await stored(eligibility) == (1, 1)
    again = await eligibility.client.post("/v1/screenings", json=screening("S01-0010"),
                                          headers=headers)
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"



@pytest.mark.parametrize("key", ["x" * 201, "clé-1", " leading-space"])
async def test_an_idempotency_key_outside_the_documented_pattern_is_400(
    eligibility: RunningService, key: str,
) -> None:
    headers: dict[str, str | bytes] = {**auth("S01", "site_user"),
                                       "Idempotency-Key": key.encode()}
    response = await eligibility.client.post("/v1/screenings", json=screening(),
                                             headers=headers)
    problem = assert_problem(response, 400)
    assert problem["type"] == "https://rescue-trial.org/problems/invalid-idempotency-key"
    assert await stored(eligibility) == (0, 0)
