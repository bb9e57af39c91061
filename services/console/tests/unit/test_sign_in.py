"""Sign-in and sessions: the token stays on the server, every form needs the session's CSRF
token, roles open their pages; OpenID Connect (code + PKCE) against a small provider of our own
that checks the verifier, signs with RSA and publishes its JWKS."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from rescue_console.app import create_app
from rescue_console.sessions import COOKIE
from rescue_console.settings import ConsoleSettings

ISSUER = "http://idp.test"
CLIENT = "rescue-console"
REDIRECT = "http://console.test/auth/callback"


def csrf_of(html: str) -> str:
    marker = 'name="csrf_token" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
async def console() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ConsoleSettings())
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                  base_url="http://console.test") as client):
        yield client


async def dev_sign_in(client: httpx.AsyncClient, site: str, *roles: str) -> httpx.Response:
    page = await client.get("/sign-in")
    return await client.post("/sign-in/dev", data={
        "csrf_token": csrf_of(page.text), "site_id": site, "roles": list(roles)})


async def test_a_form_without_the_session_csrf_token_is_refused(
    console: httpx.AsyncClient,
) -> None:
    await console.get("/sign-in")
    refused = await console.post("/sign-in/dev", data={"site_id": "S01", "roles": "site_user"})
    assert refused.status_code == 400 and "Form expired" in refused.text
    forged = await console.post("/sign-in/dev", data={
        "csrf_token": "guess", "site_id": "S01", "roles": "site_user"})
    assert forged.status_code == 400
    assert "sign-out" not in (await console.get("/sign-in")).text.lower().replace(" ", "-")


async def test_dev_sign_in_keeps_the_token_on_the_server_and_renews_the_session(
    console: httpx.AsyncClient,
) -> None:
    await console.get("/sign-in")
    anonymous = console.cookies[COOKIE]
    signed = await dev_sign_in(console, "S01", "site_user")
    assert signed.status_code == 303 and signed.headers["location"] == "/worklist"
    session_id = console.cookies[COOKIE]
    assert session_id != anonymous  # no session fixation
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = await console.get("/sign-in")
    assert "local-S01-user" in page.text and "eyJ" not in page.text  # no JWT in any page
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    assert (await console.get("/trial")).status_code == 403  # a site user: not the team's pages
    out = await console.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert out.headers["location"] == "/sign-in"
    assert (await console.get("/worklist")).headers["location"] == "/sign-in"


async def test_dev_sign_in_explains_what_is_missing(console: httpx.AsyncClient) -> None:
    answer = await dev_sign_in(console, "", "site_user")
    assert answer.status_code == 422
    assert "Site staff roles need a site" in answer.text
    assert 'aria-invalid="true"' in answer.text


async def test_a_site_user_cannot_reach_a_page_by_a_malformed_subject_id(
    console: httpx.AsyncClient,
) -> None:
    await dev_sign_in(console, "S01", "site_user")
    page = await console.get("/subjects/%20bad%20id/ca125")
    assert page.status_code == 404 and "Page not found" in page.text and "{" not in page.text


class Provider:
    """An OpenID provider reduced to the code flow with PKCE (S256), as a hospital's would be."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict[str, str]] = {}
        self.app = FastAPI()
        self.app.get("/.well-known/openid-configuration")(self.discovery)
        self.app.get("/authorize")(self.authorize)
        self.app.post("/token")(self.token)
        self.app.get("/jwks")(self.jwks)

    async def discovery(self) -> dict[str, str]:
        return {"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"}

    async def authorize(self, request: Request) -> RedirectResponse:
        q = request.query_params
        assert q["response_type"] == "code" and q["client_id"] == CLIENT
        assert q["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = dict(q)
        answer = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{answer}")

    async def token(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        asked = self.codes.pop(form["code"], None)  # a code is used once
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if asked is None or asked["code_challenge"] != challenge or \
                form["redirect_uri"] != asked["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        id_token = jwt.encode({"iss": ISSUER, "aud": CLIENT, "sub": "u-42", "iat": now,
                               "exp": now + 300, "nonce": asked["nonce"],
                               "preferred_username": "nurse.kim"},
                              self.key, algorithm="RS256", headers={"kid": "k1"})
        access = jwt.encode({"iss": ISSUER, "sub": "u-42", "site_id": "S07", "exp": now + 300,
                             "roles": ["site_user"]}, self.key, algorithm="RS256",
                            headers={"kid": "k1"})
        return JSONResponse({"access_token": access, "id_token": id_token,
                             "token_type": "Bearer"})

    async def jwks(self) -> dict[str, Any]:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [public | {"kid": "k1", "use": "sig", "alg": "RS256"}]}


@pytest.fixture
async def with_provider() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    provider = Provider()
    settings = ConsoleSettings(dev_sign_in=False, oidc_issuer=ISSUER, oidc_client_id=CLIENT,
                               oidc_redirect_uri=REDIRECT)
    app = create_app(settings, oidc_transport=httpx.ASGITransport(app=provider.app))
    async with (app.router.lifespan_context(app),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                  base_url="http://console.test") as console,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=provider.app),
                                  base_url=ISSUER) as browser_at_idp):
        yield console, browser_at_idp


async def test_oidc_code_flow_with_pkce_signs_in_with_the_providers_site_and_roles(
    with_provider: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    console, idp = with_provider
    page = await console.get("/sign-in")
    assert "Local development sign-in" not in page.text  # off in production
    start = await console.get("/sign-in/oidc")
    assert start.status_code == 303
    authorize = urlsplit(start.headers["location"])
    query = parse_qs(authorize.query)
    assert authorize.path == "/authorize" and "code_verifier" not in query
    back = await idp.get(f"/authorize?{authorize.query}")
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/auth/callback"

    forged = await console.get(f"/auth/callback?code=x&state={query['state'][0]}x")
    assert forged.status_code == 400  # and the pending sign-in is spent
    again = await console.get("/sign-in/oidc")
    back = await idp.get(f"/authorize?{urlsplit(again.headers['location']).query}")
    signed = await console.get(f"/auth/callback?{urlsplit(back.headers['location']).query}")
    assert signed.status_code == 303 and signed.headers["location"] == "/worklist"
    page = await console.get("/sign-in")
    assert "nurse.kim" in page.text and "site S07" in page.text

    replay = await console.get(f"/auth/callback?{urlsplit(back.headers['location']).query}")
    assert replay.status_code == 400 and "No sign-in was started" in replay.text


async def test_probes_and_assets_make_no_session(console: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz", "/static/console.css"):
        response = await console.get(path)
        assert response.status_code == 200 and COOKIE not in response.headers.get(
            "set-cookie", "")
    assert "x-content-type-options" in response.headers
