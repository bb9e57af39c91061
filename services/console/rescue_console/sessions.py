"""Server-side sessions: the browser holds only an opaque id; the token stays here.

In memory, one console process: a restart signs everyone out, and several replicas need sticky
sessions (or a shared store behind this same interface).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

COOKIE = "rescue_console_session"
SITE_ROLES = frozenset({"site_user", "investigator"})
TEAM_ROLES = frozenset({"statistician", "monitor", "admin"})


@dataclass
class Session:
    id: str
    csrf: str
    expires_at: float
    token: str | None = None
    user: str | None = None
    site_id: str | None = None
    roles: tuple[str, ...] = ()
    # One-time messages and the allocation shown once after randomizing.
    notices: list[str] = field(default_factory=list)
    just_allocated: dict[str, Any] | None = None
    # An OIDC sign-in under way: state, nonce and PKCE verifier.
    pending_sign_in: dict[str, str] | None = None

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_site_staff(self) -> bool:
        return bool(SITE_ROLES & set(self.roles)) and self.site_id is not None

    @property
    def is_trial_team(self) -> bool:
        return bool(TEAM_ROLES & set(self.roles))

    def csrf_matches(self, submitted: str | None) -> bool:
        return submitted is not None and hmac.compare_digest(self.csrf, submitted)

    def pop_notices(self) -> list[str]:
        notices, self.notices = self.notices, []
        return notices


# A visitor who has not signed in keeps a session (for the sign-in form's CSRF token) this long.
ANONYMOUS_TTL_SECONDS = 1800


class SessionStore:
    def __init__(self, ttl_seconds: int) -> None:
        self._ttl = ttl_seconds
        self._sessions: dict[str, Session] = {}

    def new(self, ttl_seconds: int = ANONYMOUS_TTL_SECONDS) -> Session:
        self._purge()
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32),
                          expires_at=time.time() + ttl_seconds)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        session = self._sessions.get(session_id or "")
        if session is None or session.expires_at < time.time():
            return None
        return session

    def sign_in(self, old: Session, *, token: str, user: str, site_id: str | None,
                roles: tuple[str, ...]) -> Session:
        """A fresh session id and CSRF token at sign-in (no session fixation)."""
        self.drop(old)
        session = self.new(self._ttl)
        session.token, session.user, session.site_id, session.roles = token, user, site_id, roles
        return session

    def drop(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def _purge(self) -> None:
        now = time.time()
        for expired in [k for k, s in self._sessions.items() if s.expires_at < now]:
            del self._sessions[expired]
