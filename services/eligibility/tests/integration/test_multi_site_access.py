"""A user of several hospitals, identified by a production identity provider (Keycloak-shaped
tokens, keys from its JWKS over HTTP): she reads the subjects of her sites, not a third site's,
and names the site of what she creates (real database, both engines)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from harness import ELIGIBLE_FACTS
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
from rescue_shared.testing import RunningService, run_service, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    with running_identity_provider(SigningKey("realm-key-1")) as idp:
        yield idp


@pytest.fixture
async def eligibility(
    database_url: str, provider: IdentityProvider,
) -> AsyncIterator[RunningService]:
    settings = settings_for(
        EligibilitySettings, database_url=database_url, messaging_enabled=False,
        rescue_env="production", jwt_algorithm="RS256", jwt_jwks_url=provider.jwks_url,
        jwt_issuer=ISSUER, jwt_audience=AUDIENCE, auth_roles_claim="realm_access.roles",
        auth_role_map={"rescue-nurse": "site_user", "rescue-pi": "investigator"},
        auth_sites_claim="rescue_sites")
    async with run_service(DEFINITION, settings) as service:
        yield service


def bearer(provider: IdentityProvider, role: str, *sites: str) -> dict[str, str]:
    token = provider.token(keycloak_claims(role, sites=list(sites)))
    return {"Authorization": f"Bearer {token}"}


async def screen(service: RunningService, headers: dict[str, str], subject_id: str,
                 **extra: Any) -> Any:
    return await service.client.post("/v1/screenings", headers=headers, json={
        "subject_id": subject_id, "screening_date": "2026-03-02", "facts": ELIGIBLE_FACTS,
        **extra})


async def test_a_user_of_two_sites_reads_both_and_not_a_third(
    eligibility: RunningService, provider: IdentityProvider,
) -> None:
    screening_ids = {}
    for site in ("S01", "S02", "S03"):
        response = await screen(eligibility, bearer(provider, "rescue-nurse", site), f"{site}-0001")
        assert response.status_code == 201, response.text
        screening_ids[site] = response.json()["screening_id"]
    pi = bearer(provider, "rescue-pi", "S01", "S02")

    for site in ("S01", "S02"):
        response = await eligibility.client.get(f"/v1/screenings/{screening_ids[site]}",
                                                headers=pi)
        assert (response.status_code, response.json()["site_id"]) == (200, site)
        history = await eligibility.client.get(f"/v1/subjects/{site}-0001/screenings",
                                               headers=pi)
        assert history.status_code == 200 and len(history.json()) == 1
    assert (await eligibility.client.get(f"/v1/screenings/{screening_ids['S03']}",
                                         headers=pi)).status_code == 404
    assert (await eligibility.client.get("/v1/subjects/S03-0001/screenings",
                                         headers=pi)).status_code == 404
    log = (await eligibility.client.get("/v1/screening-log", headers=pi)).json()
    assert (log["screenings"], set(log["by_site"])) == (2, {"S01", "S02"})


async def test_a_user_of_two_sites_names_the_site_of_a_new_screening(
    eligibility: RunningService, provider: IdentityProvider,
) -> None:
    pi = bearer(provider, "rescue-pi", "S01", "S02")
    unnamed = await screen(eligibility, pi, "S02-0007")
    assert unnamed.status_code == 422
    assert unnamed.headers["content-type"] == "application/problem+json"
    [error] = unnamed.json()["errors"]
    assert (error["field"], error["rule"]) == ("site_id", "required_for_multi_site_caller")

    elsewhere = await screen(eligibility, pi, "S03-0007", site_id="S03")
    assert elsewhere.status_code == 403 and "S03" in elsewhere.json()["detail"]

    named = await screen(eligibility, pi, "S02-0007", site_id="S02")
    assert named.status_code == 201, named.text
    assert named.json()["site_id"] == "S02"
    # A one-site nurse names nothing (as before); naming her own site is accepted too.
    nurse = bearer(provider, "rescue-nurse", "S01")
    assert (await screen(eligibility, nurse, "S01-0007")).json()["site_id"] == "S01"
    assert (await screen(eligibility, nurse, "S01-0008", site_id="S01")).status_code == 201
