"""Production identity: the identity provider's claims mapped to roles and sites, callers of
several sites, and the settings a service refuses to start with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from rescue_shared.auth.mint import mint_token
from rescue_shared.auth.tokens import Principal, TokenError, TokenVerifier
from rescue_shared.errors import Forbidden, Invalid
from rescue_shared.settings import LOCAL_DEV_JWT_SECRET, ServiceSettings

SECRET = "a-secret-of-this-test-only-0123456789abcdef"
ENTRA_GROUP_S01 = "6f1c2a3e-0000-4000-8000-000000000001"
ENTRA_GROUP_S02 = "6f1c2a3e-0000-4000-8000-000000000002"


def verifier(**settings: Any) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(service_name="test", jwt_secret=SECRET, **settings))


def signed(claims: dict[str, Any]) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"sub": "someone", "iat": now, "exp": now + timedelta(minutes=5), **claims},
                      SECRET, algorithm="HS256")


KEYCLOAK = {"auth_roles_claim": "realm_access.roles", "auth_sites_claim": "rescue_sites",
            "auth_role_map": {"rescue-nurse": "site_user", "rescue-pi": ["investigator"],
                              "rescue-dm": ["monitor"]}}
ENTRA = {"auth_roles_claim": "roles", "auth_sites_claim": "groups",
         "auth_role_map": {"Rescue.Statistician": "statistician",
                           "Rescue.SiteInvestigator": "investigator"},
         "auth_site_map": {ENTRA_GROUP_S01: "S01", ENTRA_GROUP_S02: "S02"}}


def test_a_keycloak_token_maps_realm_roles_and_a_multi_valued_site_attribute() -> None:
    principal = verifier(**KEYCLOAK).verify(signed({
        "realm_access": {"roles": ["rescue-pi", "offline_access", "uma_authorization"]},
        "rescue_sites": ["S01", "S02"]}))
    assert principal.roles == {"investigator"}  # offline_access, uma_authorization: unmapped
    assert principal.sites == {"S01", "S02"} and principal.site_id is None


def test_an_entra_token_maps_app_roles_and_groups_unmapped_groups_ignored() -> None:
    principal = verifier(**ENTRA).verify(signed({
        "roles": ["Rescue.SiteInvestigator", "Some.Other.App.Role"],
        "groups": [ENTRA_GROUP_S02, "00000000-0000-0000-0000-00000000dead"]}))
    assert principal.roles == {"investigator"}
    assert principal.sites == {"S02"} and principal.site_id == "S02"


def test_a_trial_wide_user_has_no_site_claim_at_all() -> None:
    principal = verifier(**ENTRA).verify(signed({"roles": ["Rescue.Statistician"]}))
    assert principal.roles == {"statistician"} and principal.sites == frozenset()
    assert principal.site_scope is None and principal.can_access_site("S07")


@pytest.mark.parametrize(("roles", "sites", "expected_sites"), [
    ("site_user investigator", "S01 S02", {"S01", "S02"}),
    ("site_user,investigator", "S01, S02", {"S01", "S02"}),
    (["site_user", "investigator"], "S03", {"S03"}),
])
def test_claims_may_be_lists_or_space_or_comma_separated_strings(
    roles: Any, sites: str, expected_sites: set[str],
) -> None:
    principal = verifier().verify(signed({"roles": roles, "site_id": sites}))
    assert principal.roles == {"site_user", "investigator"} and principal.sites == expected_sites


def test_a_namespaced_claim_is_read_by_its_whole_name() -> None:
    principal = verifier(auth_roles_claim="https://rescue.example/roles",
                         auth_sites_claim="https://rescue.example/sites").verify(signed({
                             "https://rescue.example/roles": ["monitor"],
                             "https://rescue.example/sites": ["S04"]}))
    assert (principal.roles, principal.sites) == ({"monitor"}, {"S04"})


def test_without_a_role_map_only_platform_role_names_count() -> None:
    principal = verifier().verify(signed({"roles": ["site_user", "superuser"], "site_id": "S01"}))
    assert principal.roles == {"site_user"}


@pytest.mark.parametrize(("claims", "named"), [
    ({"rescue_sites": ["S01"]}, "'realm_access.roles'"),
    ({"realm_access": {}, "rescue_sites": ["S01"]}, "'realm_access.roles'"),
    ({"realm_access": {"roles": [1, 2]}}, "'realm_access.roles'"),
    ({"realm_access": {"roles": ["rescue-pi"]}, "rescue_sites": {"S01": True}}, "'rescue_sites'"),
])
def test_a_missing_or_malformed_claim_is_refused_naming_it(
    claims: dict[str, Any], named: str,
) -> None:
    with pytest.raises(TokenError, match=named):
        verifier(**KEYCLOAK).verify(signed(claims))


def test_the_development_tokens_keep_working_as_they_are() -> None:
    dev = TokenVerifier(ServiceSettings(service_name="test", rescue_env="development"))
    token = mint_token(sub="nurse", site_id="S01", roles=["site_user"],
                       secret=LOCAL_DEV_JWT_SECRET)
    assert dev.verify(token) == Principal(sub="nurse", site_id="S01",
                                          roles=frozenset({"site_user"}))
    several = mint_token(sub="pi", site_id=["S01", "S02"], roles=["investigator"],
                         secret=LOCAL_DEV_JWT_SECRET)
    assert dev.verify(several).sites == {"S01", "S02"}


def test_clock_skew_within_the_leeway_is_tolerated_beyond_it_refused() -> None:
    expired = jwt.encode({"sub": "x", "roles": ["monitor"],
                          "exp": datetime.now(UTC) - timedelta(seconds=20)}, SECRET,
                         algorithm="HS256")
    assert verifier(jwt_leeway_seconds=30).verify(expired).roles == {"monitor"}
    with pytest.raises(TokenError, match="expired"):
        verifier(jwt_leeway_seconds=5).verify(expired)


def test_es256_tokens_are_checked_against_a_pem_public_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    es256 = TokenVerifier(ServiceSettings(
        service_name="test", rescue_env="production", jwt_algorithm="ES256",
        jwt_public_key=pem.decode(), jwt_issuer="https://idp.example", jwt_audience="rescue-api"))
    claims = {"sub": "x", "roles": ["monitor"], "iss": "https://idp.example",
              "aud": "rescue-api", "exp": datetime.now(UTC) + timedelta(minutes=5)}
    assert es256.verify(jwt.encode(claims, key, algorithm="ES256")).roles == {"monitor"}
    with pytest.raises(TokenError):
        es256.verify(jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()),
                                algorithm="ES256"))
    with pytest.raises(TokenError, match="alg value is not allowed"):  # no HS256 downgrade
        es256.verify(jwt.encode(claims, SECRET, algorithm="HS256"))


def test_a_caller_of_several_sites_reads_them_all_and_writes_only_at_them() -> None:
    pi = Principal(sub="pi", roles=frozenset({"investigator"}), sites=frozenset({"S01", "S02"}))
    assert pi.site_id is None and pi.site_scope == {"S01", "S02"}
    assert pi.can_access_site("S02") and not pi.can_access_site("S03")
    assert pi.works_at("S01") and not pi.works_at("S03")
    monitor = Principal(sub="m", roles=frozenset({"monitor"}))
    assert monitor.can_access_site("S03") and not monitor.works_at("S03")


def test_a_new_record_belongs_to_the_named_site_or_to_the_callers_only_site() -> None:
    pi = Principal(sub="pi", roles=frozenset({"investigator"}), sites=frozenset({"S01", "S02"}))
    assert pi.site_for_new_record("S02") == "S02"
    with pytest.raises(Invalid) as missing:
        pi.site_for_new_record(None)
    assert missing.value.extensions["errors"] == [{
        "field": "site_id", "rule": "required_for_multi_site_caller",
        "message": "your token names several sites (S01, S02): say which one this record "
                   "belongs to"}]
    with pytest.raises(Forbidden, match="site_id: you do not work at site 'S03'"):
        pi.site_for_new_record("S03")
    nurse = Principal(sub="n", site_id="S01", roles=frozenset({"site_user"}))
    assert nurse.site_for_new_record(None) == "S01"
    with pytest.raises(Forbidden, match="bound to a site"):
        Principal(sub="m", roles=frozenset({"monitor"})).site_for_new_record(None)


# Settings: what a service refuses to start with.

def test_outside_development_the_public_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET is the public local-development"):
        ServiceSettings(service_name="x", rescue_env="production")
    assert ServiceSettings(service_name="x", rescue_env="development").jwt_secret == (
        LOCAL_DEV_JWT_SECRET)
    assert ServiceSettings(service_name="x", rescue_env="production", jwt_secret=SECRET)


def test_production_with_an_identity_provider_needs_its_issuer_and_audience() -> None:
    jwks = {"service_name": "x", "rescue_env": "production", "jwt_algorithm": "RS256",
            "jwt_jwks_url": "https://idp.example/certs"}
    with pytest.raises(ValidationError, match="JWT_ISSUER and JWT_AUDIENCE are required"):
        ServiceSettings(**jwks, jwt_issuer="https://idp.example")
    assert ServiceSettings(**jwks, jwt_issuer="https://idp.example", jwt_audience="rescue-api")
    with pytest.raises(ValidationError, match="JWT_PUBLIC_KEY or JWT_JWKS_URL is required"):
        ServiceSettings(service_name="x", rescue_env="production", jwt_algorithm="ES256",
                        jwt_issuer="i", jwt_audience="a")


def test_the_mode_and_the_claim_mapping_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESCUE_ENV", "production")
    with pytest.raises(ValidationError, match="public local-development secret"):
        ServiceSettings(service_name="x")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("AUTH_ROLES_CLAIM", "realm_access.roles")
    monkeypatch.setenv("AUTH_ROLE_MAP", '{"rescue-pi": "investigator", "rescue-dm": ["monitor"]}')
    monkeypatch.setenv("AUTH_SITE_MAP", '{"/sites/seoul": "S01"}')
    settings = ServiceSettings(service_name="x")
    assert settings.auth_roles_claim == "realm_access.roles"
    assert settings.auth_role_map == {"rescue-pi": "investigator", "rescue-dm": ["monitor"]}
    assert settings.auth_site_map == {"/sites/seoul": "S01"}


def test_a_role_map_naming_no_platform_role_is_refused() -> None:
    with pytest.raises(ValidationError, match="maps 'rescue-pi' to 'principal_investigator'"):
        ServiceSettings(service_name="x", rescue_env="development",
                        auth_role_map={"rescue-pi": "principal_investigator"})
