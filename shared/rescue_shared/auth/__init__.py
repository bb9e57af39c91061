"""Bearer-token authentication and role/site authorisation."""

from rescue_shared.auth.dependencies import (
    AnyTrialRole,
    CurrentPrincipal,
    require_roles,
)
from rescue_shared.auth.tokens import KeysUnavailable, Principal, TokenError, TokenVerifier

__all__ = [
    "AnyTrialRole",
    "CurrentPrincipal",
    "KeysUnavailable",
    "Principal",
    "TokenError",
    "TokenVerifier",
    "require_roles",
]
