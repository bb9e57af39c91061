"""Production identity against a real local identity provider (JWKS over HTTP): key rotation,
the refetch rate limit, issuer and audience, and a service that refuses to start with the public
development secret."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from identity_provider import (
    AUDIENCE,
    ISSUER,
    IdentityProvider,
    SigningKey,
    keycloak_claims,
    running_identity_provider,
)

from rescue_eligibility.app import DEFINITION
from rescue_eligibility.settings import EligibilitySettings
from rescue_shared.auth.tokens import KeysUnavailable, TokenError, TokenVerifier
from rescue_shared.settings import ServiceSettings
from rescue_shared.testing import RunningService, eventually, run_service, settings_for

pytestmark = pytest.mark.integration
KEYCLOAK_MAPPING = {"auth_roles_claim": "realm_access.roles", "auth_sites_claim": "rescue_sites",
                    "auth_role_map": {"rescue-nurse": "site_user", "rescue-pi": "investigator",
                                      "rescue-monitor": "monitor"}}


def production_settings(jwks_url: str, **overrides: Any) -> dict[str, Any]:
    return {"rescue_env": "production", "jwt_algorithm": "RS256", "jwt_jwks_url": jwks_url,
            "jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, **KEYCLOAK_MAPPING, **overrides}


def verifier_of(provider: IdentityProvider, **overrides: Any) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(service_name="test",
                                         **production_settings(provider.jwks_url, **overrides)))


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    with running_identity_provider(SigningKey("key-a")) as idp:
        yield idp


def nurse_token(provider: IdentityProvider, key: SigningKey | None = None) -> str:
    return provider.token(keycloak_claims("rescue-nurse", sites=["S01"]), key=key)


async def test_rotated_keys_new_key_accepted_after_refetch_removed_key_refused(
    provider: IdentityProvider,
) -> None:
    verifier = verifier_of(provider, jwt_jwks_refresh_cooldown_seconds=0)
    key_a = provider.keys[0]
    principal = await verifier.authenticate(nurse_token(provider))
    assert (principal.roles, principal.sites, principal.site_id) == ({"site_user"}, {"S01"}, "S01")
    fetched = provider.fetches
    await verifier.authenticate(nurse_token(provider))
    assert provider.fetches == fetched  # cached key set: no fetch per token

    key_b = SigningKey("key-b")
    provider.rotate(key_b)
    assert (await verifier.authenticate(nurse_token(provider, key_b))).roles == {"site_user"}
    assert provider.fetches == fetched + 1  # the unknown kid made it fetch the new set
    with pytest.raises(TokenError, match="key-a"):
        await verifier.authenticate(nurse_token(provider, key_a))


async def test_unknown_kids_cause_at_most_one_fetch_per_cooldown(
    provider: IdentityProvider,
) -> None:
    verifier = verifier_of(provider, jwt_jwks_refresh_cooldown_seconds=3.0)
    key_b = SigningKey("key-b")
    token_b = nurse_token(provider, key_b)  # signed before the clock starts: RSA is slow
    await verifier.authenticate(nurse_token(provider))
    assert provider.fetches == 1
    provider.rotate(provider.keys[0], key_b)
    for _ in range(20):  # a flood of tokens with a kid not yet fetched
        with pytest.raises(TokenError, match="key-b"):
            await verifier.authenticate(token_b)
    assert provider.fetches == 1

    async def accepted() -> bool:
        try:
            return bool(await verifier.authenticate(nurse_token(provider, key_b)))
        except TokenError:
            return False

    await eventually(accepted, timeout=10, description="the new key accepted after the cooldown")
    assert provider.fetches == 2


async def test_a_slow_key_fetch_does_not_stall_other_requests(provider: IdentityProvider) -> None:
    provider.delay_seconds = 1.0
    verifier = verifier_of(provider)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    try:
        await verifier.authenticate(nurse_token(provider))
    finally:
        ticker.cancel()
    assert ticks >= 20  # the event loop ran on while the key set was fetched


async def test_a_removed_key_is_refused_once_the_cached_set_expires(
    provider: IdentityProvider,
) -> None:
    verifier = verifier_of(provider, jwt_jwks_cache_seconds=0.5)
    key_a = provider.keys[0]
    await verifier.authenticate(nurse_token(provider, key_a))
    provider.rotate(SigningKey("key-b"))  # key A withdrawn (compromised), no key-B token seen

    async def refused() -> bool:
        try:
            await verifier.authenticate(nurse_token(provider, key_a))
        except TokenError:
            return True
        return False

    await eventually(refused, timeout=10, description="key A refused after the cache expired")


@pytest.mark.parametrize(("change", "refusal"), [
    ({"issuer": "https://login.other-tenant.example/v2.0"}, "Invalid issuer"),
    ({"audience": "another-api"}, "Audience doesn't match"),
])
async def test_tokens_of_another_issuer_or_audience_are_refused(
    provider: IdentityProvider, change: dict[str, str], refusal: str,
) -> None:
    token = provider.token(keycloak_claims("rescue-nurse", sites=["S01"]), **change)
    with pytest.raises(TokenError, match=refusal):
        await verifier_of(provider).authenticate(token)


async def test_a_token_signed_by_a_foreign_key_with_a_known_kid_is_refused(
    provider: IdentityProvider,
) -> None:
    forged = provider.token(keycloak_claims("rescue-monitor"), key=SigningKey("key-a"))
    with pytest.raises(TokenError, match="Signature verification failed"):
        await verifier_of(provider).authenticate(forged)


async def test_an_unreachable_identity_provider_is_not_the_callers_fault() -> None:
    with running_identity_provider() as gone:
        token = nurse_token(gone)
        url = gone.jwks_url
    verifier = TokenVerifier(ServiceSettings(service_name="test", **production_settings(url)))
    with pytest.raises(KeysUnavailable):
        await verifier.authenticate(token)


# Through a real service app (HTTP, database): what a client sees.

@pytest.fixture
async def eligibility(
    provider: IdentityProvider, tmp_path: Path,
) -> AsyncIterator[RunningService]:
    settings = settings_for(EligibilitySettings, database_url=f"sqlite+aiosqlite:///"
                            f"{tmp_path / 'eligibility.db'}", messaging_enabled=False,
                            **production_settings(provider.jwks_url))
    async with run_service(DEFINITION, settings) as service:
        yield service


async def test_a_refused_token_is_a_401_problem_that_does_not_echo_the_token(
    eligibility: RunningService, provider: IdentityProvider,
) -> None:
    token = provider.token(keycloak_claims("rescue-monitor"), audience="another-api")
    response = await eligibility.client.get("/v1/screening-log",
                                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["detail"] == "Audience doesn't match"
    assert token not in response.text and token.split(".")[1] not in response.text

    missing = provider.token({"rescue_sites": ["S01"]})  # no realm_access.roles
    response = await eligibility.client.get("/v1/screening-log",
                                            headers={"Authorization": f"Bearer {missing}"})
    assert response.status_code == 401
    assert "'realm_access.roles'" in response.json()["detail"]

    good = provider.token(keycloak_claims("rescue-monitor"))
    response = await eligibility.client.get("/v1/screening-log",
                                            headers={"Authorization": f"Bearer {good}"})
    assert response.status_code == 200, response.text


async def test_an_unreachable_identity_provider_is_a_503_problem(tmp_path: Path) -> None:
    with running_identity_provider() as gone:
        token = gone.token(keycloak_claims("rescue-monitor"))
        url = gone.jwks_url
    settings = settings_for(EligibilitySettings, database_url=f"sqlite+aiosqlite:///"
                            f"{tmp_path / 'eligibility.db'}", messaging_enabled=False,
                            **production_settings(url, jwt_jwks_timeout_seconds=2))
    async with run_service(DEFINITION, settings) as service:
        response = await service.client.get("/v1/screening-log",
                                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["title"] == "Identity provider unavailable"
    assert token not in response.text


# Start-up.

def _serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("RESCUE_", "JWT_", "AUTH_"))}
    command = [str(Path(sys.executable).parent / "rescue-eligibility"), "serve"]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                          env={**base, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/e.db",
                               "PORT": "1", **env})


def test_outside_development_a_service_refuses_to_start_with_the_public_secret(
    tmp_path: Path,
) -> None:
    result = _serve({}, tmp_path)  # no RESCUE_ENV: production is the default
    assert result.returncode == 2, result.stderr
    assert "refusing to start" in result.stderr
    assert "JWT_SECRET is the public local-development secret" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "e.db").exists()  # refused before touching the database

    result = _serve({"RESCUE_ENV": "production", "JWT_ALGORITHM": "RS256",
                     "JWT_JWKS_URL": "https://idp.example/certs"}, tmp_path)
    assert result.returncode == 2
    assert "JWT_ISSUER and JWT_AUDIENCE are required" in result.stderr
