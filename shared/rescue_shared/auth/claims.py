"""From an identity provider's claims to the platform's roles and sites.

Keycloak puts roles in `realm_access.roles` (or `resource_access.<client>.roles`), Entra ID in
`roles`, a hospital IdP wherever it likes, with its own names: the settings say where to look
(`AUTH_ROLES_CLAIM`, `AUTH_SITES_CLAIM`) and how to translate (`AUTH_ROLE_MAP`, `AUTH_SITE_MAP`).
The defaults read the local development tokens (`roles`, `site_id`) as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rescue_shared.auth.roles import ROLES

_SEPARATORS = re.compile(r"[\s,]+")


class ClaimError(ValueError):
    """A claim the mapping needs is missing or has the wrong shape (the message names it)."""


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at `path`; None when absent. A claim named by the whole path wins, so that
    namespaced claims (`https://rescue.example/sites`) are read as they are."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def claim_values(claims: Mapping[str, Any], path: str) -> list[str] | None:
    """The strings of a claim that is a list of strings or a space/comma separated string;
    None when absent."""
    value = claim_at(claims, path)
    if value is None:
        return None
    if isinstance(value, str):
        return [v for v in _SEPARATORS.split(value) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ClaimError(f"claim {path!r} must be a list of strings or a string")


@dataclass(frozen=True)
class ClaimMapping:
    """Where the roles and sites are in a token, and what the provider's values mean here."""

    roles_claim: str = "roles"
    role_map: Mapping[str, str | list[str]] = field(default_factory=dict)
    sites_claim: str = "site_id"
    site_map: Mapping[str, str] = field(default_factory=dict)

    def roles(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The platform roles the token grants; a token without the roles claim is refused
        (a misconfigured claim path must not look like a user without roles)."""
        values = claim_values(claims, self.roles_claim)
        if values is None:
            raise ClaimError(f"token has no claim {self.roles_claim!r} (the roles, "
                             f"AUTH_ROLES_CLAIM)")
        if not self.role_map:
            return frozenset(v for v in values if v in ROLES)
        granted: set[str] = set()
        for value in values:
            targets = self.role_map.get(value, [])
            granted.update([targets] if isinstance(targets, str) else targets)
        return frozenset(granted)

    def sites(self, claims: Mapping[str, Any]) -> frozenset[str]:
        """The sites the caller works at; none when the claim is absent (trial-wide staff)."""
        values = claim_values(claims, self.sites_claim) or []
        if not self.site_map:
            return frozenset(values)
        return frozenset(self.site_map[v] for v in values if v in self.site_map)
