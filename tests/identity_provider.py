"""A local identity provider for tests: RSA signing keys, and their JWKS served over real HTTP.

Tokens are signed as Keycloak or Entra ID would sign them (RS256, `kid` header); the JWKS
endpoint counts its fetches and its keys can be rotated while services run.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://idp.rescue.test/realms/rescue"
AUDIENCE = "rescue-api"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


class IdentityProvider:
    """Signs tokens with its current keys; `rotate` replaces them (old ones removed)."""

    def __init__(self, jwks_url: str, keys: list[SigningKey]) -> None:
        self.jwks_url = jwks_url
        self.keys = keys
        self.fetches = 0
        self.delay_seconds = 0.0  # a slow provider

    def jwks(self) -> bytes:
        self.fetches += 1
        time.sleep(self.delay_seconds)
        return json.dumps({"keys": [key.jwk() for key in self.keys]}).encode()

    def rotate(self, *keys: SigningKey) -> None:
        self.keys = list(keys)

    def token(self, claims: Mapping[str, Any], *, key: SigningKey | None = None,
              issuer: str = ISSUER, audience: str = AUDIENCE,
              lifetime: timedelta = timedelta(minutes=5)) -> str:
        signer = key or self.keys[0]
        now = datetime.now(UTC)
        payload = {"iss": issuer, "aud": audience, "sub": f"user-{uuid.uuid4().hex[:8]}",
                   "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode(payload, signer.private, algorithm="RS256",
                          headers={"kid": signer.kid})


@contextmanager
def running_identity_provider(*keys: SigningKey) -> Iterator[IdentityProvider]:
    """An identity provider whose JWKS answers on 127.0.0.1 (a real HTTP server in a thread)."""
    provider: IdentityProvider

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/certs":
                self.send_error(404)
                return
            body = provider.jwks()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    provider = IdentityProvider(f"http://127.0.0.1:{server.server_port}/certs",
                                list(keys) or [SigningKey("key-a")])
    thread = threading.Thread(target=server.serve_forever, name="jwks", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def keycloak_claims(*roles: str, sites: list[str] | None = None) -> dict[str, Any]:
    """Claims shaped as Keycloak issues them: realm roles, and a multi-valued user attribute
    `rescue_sites` mapped into the token."""
    claims: dict[str, Any] = {"realm_access": {"roles": [*roles, "offline_access"]},
                              "preferred_username": "someone", "azp": "rescue-console"}
    if sites is not None:
        claims["rescue_sites"] = sites
    return claims
