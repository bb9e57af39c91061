"""JWT verification (HS256 secret, RS256 public key or JWKS) and the caller it identifies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from rescue_shared.settings import ServiceSettings

ROLES = frozenset({"site_user", "investigator", "statistician", "monitor", "admin",
                   "data_manager"})
# Roles that work across sites (trial team); every other caller is bound to its own site.
CROSS_SITE_ROLES = frozenset({"statistician", "monitor", "admin", "data_manager"})


class TokenError(Exception):
    """The bearer token is missing, malformed, badly signed or expired."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    sub: str
    site_id: str | None
    roles: frozenset[str]

    def has_any_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def sees_all_sites(self) -> bool:
        return bool(self.roles & CROSS_SITE_ROLES)


class TokenVerifier:
    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    def _key(self, token: str) -> Any:
        if self._settings.jwt_algorithm == "HS256":
            return self._settings.jwt_secret
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key
        return self._settings.jwt_public_key

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                key=self._key(token),
                algorithms=[self._settings.jwt_algorithm],
                issuer=self._settings.jwt_issuer,
                audience=self._settings.jwt_audience,
                options={"require": ["sub", "exp"],
                         "verify_aud": bool(self._settings.jwt_audience)},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        roles = claims.get("roles", [])
        if isinstance(roles, str):
            roles = [r for r in roles.split(",") if r]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise TokenError("claim 'roles' must be a list of strings")
        site_id = claims.get("site_id")
        if site_id is not None and not isinstance(site_id, str):
            raise TokenError("claim 'site_id' must be a string")
        return Principal(sub=str(claims["sub"]), site_id=site_id, roles=frozenset(roles))
