"""Signing in and out: a development token locally, OpenID Connect in production."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from rescue_console.oidc import OidcClient, SignInFailed
from rescue_console.sessions import SITE_ROLES, TEAM_ROLES, Session, SessionStore
from rescue_console.settings import ConsoleSettings
from rescue_console.web import AnySession, PostedForm, redirect, render
from rescue_shared.auth.mint import mint_token

router = APIRouter()
ROLES = ("site_user", "investigator", "statistician", "monitor", "admin")
SITE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")


def home_of(session: Session) -> str:
    if session.is_site_staff:
        return "/worklist"
    if session.is_trial_team or session.has("investigator"):
        return "/trial"
    return "/sign-in"


@router.get("/")
async def home(session: AnySession) -> Response:
    return RedirectResponse(home_of(session) if session.signed_in else "/sign-in", 303)


@router.get("/sign-in")
async def sign_in_page(request: Request, session: AnySession) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    return render(request, "sign_in.html", settings=settings, roles=ROLES, errors={},
                  values={"site_id": "S01", "roles": ["site_user"]})


def _start_session(request: Request, *, token: str, user: str, site_id: str | None,
                   roles: tuple[str, ...]) -> Session:
    store: SessionStore = request.app.state.sessions
    session = store.sign_in(request.state.session, token=token, user=user, site_id=site_id,
                            roles=roles)
    request.state.session = session
    return session


@router.post("/sign-in/dev")
async def dev_sign_in(request: Request, form: PostedForm) -> Response:
    settings: ConsoleSettings = request.app.state.settings
    if not settings.dev_sign_in:
        return render(request, "error.html", status_code=404, title="Not available",
                      message="The local sign-in is turned off on this console.")
    site_id = form.get("site_id") or None
    roles = tuple(r for r in form.all("roles") if r in ROLES)
    errors: dict[str, str] = {}
    if not roles:
        errors["roles"] = "Choose at least one role."
    if SITE_ROLES & set(roles) and not site_id:
        errors["site_id"] = "Site staff roles need a site, e.g. S01."
    if site_id and not SITE_PATTERN.match(site_id):
        errors["site_id"] = "A site id is letters, digits, '-' or '_' (at most 16), e.g. S01."
    if errors:
        return render(request, "sign_in.html", status_code=422, settings=settings, roles=ROLES,
                      errors=errors, values={"site_id": site_id or "", "roles": list(roles)})
    if site_id and not SITE_ROLES & set(roles) and TEAM_ROLES & set(roles):
        site_id = None  # trial-wide roles see every site (as `make token` without SITE)
    user = f"local-{site_id or 'trial'}-user"
    # The same token `make token SITE=.. ROLES=..` prints.
    token = mint_token(sub=user, site_id=site_id, roles=list(roles), secret=settings.jwt_secret,
                       ttl=timedelta(seconds=settings.session_ttl_seconds),
                       issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    session = _start_session(request, token=token, user=user, site_id=site_id, roles=roles)
    return redirect(home_of(session))


@router.get("/sign-in/oidc")
async def oidc_sign_in(request: Request, session: AnySession) -> Response:
    oidc: OidcClient | None = request.app.state.oidc
    if oidc is None:
        return render(request, "error.html", status_code=404, title="Not available",
                      message="Sign-in with an identity provider is not configured.")
    try:
        url, pending = await oidc.authorization_url()
    except SignInFailed as exc:
        return render(request, "error.html", status_code=502, title="Sign-in failed",
                      message=str(exc))
    session.pending_sign_in = pending
    return RedirectResponse(url, status_code=303)


@router.get("/auth/callback")
async def oidc_callback(request: Request, session: AnySession) -> Response:
    oidc: OidcClient | None = request.app.state.oidc
    params = request.query_params
    pending, session.pending_sign_in = session.pending_sign_in, None  # usable once
    if oidc is None or pending is None:
        return render(request, "error.html", status_code=400, title="Sign-in failed",
                      message="No sign-in was started from this browser. Please start again.")
    if "error" in params:
        return render(request, "error.html", status_code=400, title="Sign-in failed",
                      message=f"The identity provider said: "
                              f"{params.get('error_description') or params['error']}.")
    try:
        user = await oidc.finish(code=params.get("code", ""), state=params.get("state", ""),
                                 pending=pending)
    except SignInFailed as exc:
        return render(request, "error.html", status_code=400, title="Sign-in failed",
                      message=str(exc))
    signed = _start_session(request, token=user.access_token, user=user.user,
                            site_id=user.site_id, roles=user.roles)
    return RedirectResponse(home_of(signed), status_code=303)


@router.post("/sign-out")
async def sign_out(request: Request, form: PostedForm) -> Response:
    store: SessionStore = request.app.state.sessions
    store.drop(request.state.session)
    request.state.session = store.new()
    request.state.session.notices.append("You are signed out.")
    return redirect("/sign-in")
