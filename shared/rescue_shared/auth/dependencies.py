"""FastAPI dependencies: who is calling, does the caller hold a role, is the subject theirs."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rescue_shared.auth.tokens import ROLES, KeysUnavailable, Principal, TokenError
from rescue_shared.http.problems import Problem

_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Problem(401, "Authentication required", "send 'Authorization: Bearer <token>'",
                      headers={"WWW-Authenticate": "Bearer"})
    try:
        principal: Principal = await request.app.state.token_verifier.authenticate(
            credentials.credentials)
        return principal
    except TokenError as exc:
        raise Problem(401, "Invalid token", str(exc),
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from exc
    except KeysUnavailable as exc:
        # The provider's fault, not the caller's: retry later, keep the token.
        raise Problem(503, "Identity provider unavailable",
                      "the identity provider's signing keys cannot be fetched; retry later",
                      headers={"Retry-After": "5"}) from exc

# Read by the OpenAPI builder (rescue_shared.http.openapi): such routes answer 401 (and 403).
current_principal.__dict__["authenticates"] = True
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Dependency that admits callers holding at least one of `roles` (403 otherwise)."""

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(*roles):
            raise Problem(403, "Forbidden", f"this action requires one of the roles: "
                          f"{', '.join(sorted(roles))}")
        return principal

    _check.__dict__["required_roles"] = tuple(sorted(roles))  # for the OpenAPI 403
    return _check


AnyTrialRole = Annotated[Principal, Depends(require_roles(*ROLES))]
