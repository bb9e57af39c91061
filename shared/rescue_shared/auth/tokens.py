"""JWT verification (HS256 secret; RS256/ES256 public key or the identity provider's JWKS) and
the caller it identifies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import jwt

from rescue_shared.auth.claims import ClaimError, ClaimMapping
from rescue_shared.auth.roles import CROSS_SITE_ROLES, ROLES
from rescue_shared.errors import Forbidden, invalid_fields
from rescue_shared.settings import ServiceSettings

__all__ = ["CROSS_SITE_ROLES", "ROLES", "KeysUnavailable", "Principal", "TokenError",
           "TokenVerifier"]


class TokenError(Exception):
    """The bearer token is missing, malformed, badly signed, expired or lacks a claim."""


class KeysUnavailable(Exception):
    """The identity provider's JWKS could not be fetched: no token can be checked now."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller.

    `sites` are the sites the caller works at (several for a user of several hospitals);
    `site_id` is the caller's only site, None for several or none. Passing `site_id` alone is
    the shorthand for a one-site caller.
    """

    sub: str
    site_id: str | None = None
    roles: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        sites = self.sites | ({self.site_id} if self.site_id else frozenset())
        object.__setattr__(self, "sites", frozenset(sites))
        object.__setattr__(self, "site_id", next(iter(sites)) if len(sites) == 1 else None)

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_all_sites(self) -> bool:
        return bool(self.roles & CROSS_SITE_ROLES)

    def can_access_site(self, site_id: str) -> bool:
        """Whether the caller may read records of `site_id`: one of their sites, or any site
        for the trial team."""
        return self.sees_all_sites or site_id in self.sites

    def works_at(self, site_id: str) -> bool:
        """Whether `site_id` is one of the caller's own sites (writing is for a subject's own
        site: a trial-wide role does not extend it)."""
        return site_id in self.sites

    @property
    def site_scope(self) -> frozenset[str] | None:
        """The sites whose records the caller reads; None: every site. Empty for a caller
        bound to no site and without a trial-wide role: they see nothing."""
        return None if self.sees_all_sites else self.sites

    def site_for_new_record(self, requested: str | None, *, field: str = "site_id") -> str:
        """The site a record this caller creates belongs to: `requested` (one of theirs), or
        their only site; a caller of several sites must say which (Invalid naming `field`)."""
        if not self.sites:
            raise Forbidden(f"this action requires a token bound to a site ({field})")
        if requested is not None:
            if requested not in self.sites:
                raise Forbidden(f"{field}: you do not work at site {requested!r} (your sites: "
                                f"{', '.join(sorted(self.sites))})")
            return requested
        if self.site_id is not None:
            return self.site_id
        raise invalid_fields([{
            "field": field, "rule": "required_for_multi_site_caller",
            "message": f"your token names several sites ({', '.join(sorted(self.sites))}): "
                       f"say which one this record belongs to"}])


class TokenVerifier:
    """Checks a bearer token and maps its claims to a `Principal`.

    With a JWKS URL, the key set is cached (`jwt_jwks_cache_seconds`) and fetched again at once
    when a token names an unknown `kid` (the provider rotated its keys), at most once per
    `jwt_jwks_refresh_cooldown_seconds`. A key removed from the set stops being accepted when
    the set is next fetched.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._mapping = ClaimMapping(
            roles_claim=settings.auth_roles_claim, role_map=settings.auth_role_map,
            sites_claim=settings.auth_sites_claim, site_map=settings.auth_site_map)
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_algorithm != "HS256" and settings.jwt_jwks_url:
            # No per-kid cache (cache_keys): it never expires, so a removed key would live on.
            self._jwks = jwt.PyJWKClient(
                settings.jwt_jwks_url, cache_jwk_set=True,
                lifespan=settings.jwt_jwks_cache_seconds,
                timeout=settings.jwt_jwks_timeout_seconds,
                cooldown_duration=settings.jwt_jwks_refresh_cooldown_seconds)

    async def authenticate(self, token: str) -> Principal:
        """`verify`, off the event loop when the JWKS must be fetched (a blocking request)."""
        if self._jwks is not None and not self._key_is_cached(self._jwks, token):
            return await asyncio.to_thread(self.verify, token)
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        settings = self._settings
        try:
            claims = jwt.decode(
                token,
                key=self._key(token),
                algorithms=[settings.jwt_algorithm],
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                leeway=settings.jwt_leeway_seconds,
                options={"require": ["sub", "exp"], "verify_aud": bool(settings.jwt_audience)},
            )
            return Principal(sub=str(claims["sub"]), roles=self._mapping.roles(claims),
                             sites=self._mapping.sites(claims))
        except jwt.PyJWKClientConnectionError as exc:
            raise KeysUnavailable(str(exc)) from exc
        except (jwt.PyJWTError, ClaimError) as exc:
            raise TokenError(str(exc)) from exc

    def _key(self, token: str) -> Any:
        if self._settings.jwt_algorithm == "HS256":
            return self._settings.jwt_secret
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        return self._settings.jwt_public_key

    @staticmethod
    def _key_is_cached(client: jwt.PyJWKClient, token: str) -> bool:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return True  # malformed: refused without any fetch
        cached = client.jwk_set_cache.get() if client.jwk_set_cache is not None else None
        return cached is not None and any(key.key_id == kid for key in cached.keys)
