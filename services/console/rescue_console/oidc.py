"""OpenID Connect sign-in: authorization code flow with PKCE (RFC 7636), discovery, and ID token
validation against the provider's JWKS. The access token goes to the services, which verify it
themselves (their JWT_JWKS_URL / JWT_ISSUER / JWT_AUDIENCE settings)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from rescue_console.settings import ConsoleSettings

DISCOVERY_TTL_SECONDS = 3600


class SignInFailed(Exception):
    """The provider's answer cannot be trusted or used; the message is for the person."""


@dataclass(frozen=True)
class SignedInUser:
    access_token: str
    user: str
    site_id: str | None
    roles: tuple[str, ...]


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _roles(claims: dict[str, Any]) -> tuple[str, ...]:
    roles = claims.get("roles")
    if roles is None:  # Keycloak keeps realm roles here
        roles = (claims.get("realm_access") or {}).get("roles")
    if isinstance(roles, str):
        roles = roles.replace(",", " ").split()
    return tuple(str(r) for r in roles or ())


class OidcClient:
    def __init__(self, settings: ConsoleSettings, http: httpx.AsyncClient) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_uri
        self._settings = settings
        self._issuer = settings.oidc_issuer.rstrip("/")
        self._client_id = settings.oidc_client_id
        self._redirect_uri = settings.oidc_redirect_uri
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._jwks: jwt.PyJWKSet | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._fetched_at > DISCOVERY_TTL_SECONDS:
            url = f"{self._issuer}/.well-known/openid-configuration"
            try:
                response = await self._http.get(url)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise SignInFailed("The identity provider is not answering.") from exc
            metadata = response.json()
            if metadata.get("issuer", "").rstrip("/") != self._issuer:
                raise SignInFailed("The identity provider's configuration names another issuer.")
            self._metadata, self._fetched_at, self._jwks = metadata, time.monotonic(), None
        return self._metadata

    async def authorization_url(self) -> tuple[str, dict[str, str]]:
        """Where to send the browser, and what to remember until it comes back."""
        metadata = await self.metadata()
        verifier, challenge = pkce_pair()
        pending = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
                   "verifier": verifier}
        query = urlencode({
            "response_type": "code", "client_id": self._client_id,
            "redirect_uri": self._redirect_uri, "scope": self._settings.oidc_scopes,
            "state": pending["state"], "nonce": pending["nonce"],
            "code_challenge": challenge, "code_challenge_method": "S256"})
        return f"{metadata['authorization_endpoint']}?{query}", pending

    async def finish(self, *, code: str, state: str, pending: dict[str, str]) -> SignedInUser:
        """Exchange the code (with the PKCE verifier) and check the ID token."""
        if not secrets.compare_digest(state, pending["state"]):
            raise SignInFailed("The sign-in answer does not match this browser's request.")
        metadata = await self.metadata()
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": self._redirect_uri, "client_id": self._client_id,
                "code_verifier": pending["verifier"]}
        if self._settings.oidc_client_secret:
            form["client_secret"] = self._settings.oidc_client_secret
        try:
            response = await self._http.post(metadata["token_endpoint"], data=form,
                                             headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SignInFailed("The identity provider is not answering.") from exc
        if response.status_code != 200:
            raise SignInFailed("The identity provider refused the sign-in "
                               f"({response.json().get('error', response.status_code)}).")
        tokens = response.json()
        if "id_token" not in tokens or "access_token" not in tokens:
            raise SignInFailed("The identity provider gave no ID token or access token.")
        claims = await self._verified_id_token(tokens["id_token"], metadata)
        if not secrets.compare_digest(str(claims.get("nonce", "")), pending["nonce"]):
            raise SignInFailed("The sign-in answer was not made for this browser's request.")
        # Site and roles as the services will read them: from the access token (they verify it).
        access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
        source = access if ("roles" in access or "realm_access" in access) else claims
        return SignedInUser(
            access_token=tokens["access_token"],
            user=str(claims.get("preferred_username") or claims.get("email") or claims["sub"]),
            site_id=source.get("site_id"), roles=_roles(source))

    async def _verified_id_token(self, id_token: str, metadata: dict[str, Any]) -> dict[str, Any]:
        if self._jwks is None:
            try:
                response = await self._http.get(metadata["jwks_uri"])
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise SignInFailed("The identity provider's keys cannot be read.") from exc
            self._jwks = jwt.PyJWKSet.from_dict(response.json())
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = next(k for k in self._jwks.keys if kid is None or k.key_id == kid)
            claims: dict[str, Any] = await asyncio.to_thread(
                jwt.decode, id_token, key.key, algorithms=["RS256", "ES256", "PS256"],
                audience=self._client_id, issuer=metadata["issuer"])
        except (StopIteration, jwt.PyJWTError) as exc:
            raise SignInFailed("The identity provider's ID token is not valid.") from exc
        return claims
