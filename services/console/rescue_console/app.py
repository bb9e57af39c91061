"""Composition root of the console: sessions, the services' clients, the pages."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from rescue_console import (
    pages_auth,
    pages_followup,
    pages_queries,
    pages_randomization,
    pages_screening,
    pages_subject,
    pages_trial,
    pages_worklist,
)
from rescue_console.api import build_clients
from rescue_console.api_errors import ApiError
from rescue_console.oidc import OidcClient
from rescue_console.sessions import COOKIE, SessionStore
from rescue_console.settings import ConsoleSettings
from rescue_console.web import BadForm, NotAllowed, SignInRequired, render

log = logging.getLogger("rescue_console")
SESSIONLESS = frozenset({"/healthz", "/readyz"})
# Pages and assets come from this origin only; the service figures are inlined or proxied.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(settings: ConsoleSettings | None = None,
               transports: dict[str, httpx.AsyncBaseTransport] | None = None,
               oidc_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """`transports` / `oidc_transport`: in-process services and identity provider (tests)."""
    settings = settings or ConsoleSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.clients = build_clients(settings, transports)
        async with contextlib.AsyncExitStack() as stack:
            for client in app.state.clients.values():
                await stack.enter_async_context(client)
            oidc_http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=settings.request_timeout_seconds,
                                  transport=oidc_transport))
            app.state.oidc = OidcClient(settings, oidc_http) if settings.oidc_enabled else None
            yield

    app = FastAPI(title="RESCUE trial console", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.sessions = SessionStore(settings.session_ttl_seconds)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")),
              name="static")

    @app.middleware("http")
    async def with_session(request: Request,
                           call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.url.path in SESSIONLESS or request.url.path.startswith("/static/"):
            response = await call_next(request)  # probes and assets: no session is made
            response.headers.update(SECURITY_HEADERS)
            return response
        store: SessionStore = app.state.sessions
        session = store.get(request.cookies.get(COOKIE)) or store.new()
        request.state.session = session
        response = await call_next(request)
        current = request.state.session  # sign-in and sign-out replace it
        if current.id != request.cookies.get(COOKIE):
            response.set_cookie(COOKIE, current.id, httponly=True, samesite="lax",
                                secure=settings.cookie_secure, path="/",
                                max_age=settings.session_ttl_seconds)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-store"  # pages show patient data
        return response

    @app.exception_handler(SignInRequired)
    async def to_sign_in(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        return render(request, "error.html", status_code=403, title="Not available to you",
                      message=exc.message)

    @app.exception_handler(BadForm)
    async def bad_form(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", status_code=400, title="Form expired",
                      message="This form is no longer valid (the page was open too long, or "
                              "you signed in again). Please go back, reload and submit again.")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if exc.status == 401:
            app.state.sessions.drop(request.state.session)
            request.state.session = app.state.sessions.new()
            request.state.session.notices.append(exc.summary)
            return RedirectResponse("/sign-in", status_code=303)
        return render(request, "error.html", status_code=exc.status if exc.status < 500 else 502,
                      title="The request could not be completed", message=exc.summary,
                      problems=exc.fields)

    @app.exception_handler(RequestValidationError)
    async def bad_address(request: Request, exc: Exception) -> Response:
        return render(request, "error.html", status_code=404, title="Page not found",
                      message="This address does not name a page of the console (a subject id "
                              "is letters, digits, '.', '_' or '-').")

    # Liveness and readiness alike: the console owns no database nor broker, and a service that
    # is down is explained on the pages that need it rather than hiding the whole console.
    @app.get("/healthz", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module in (pages_auth, pages_worklist, pages_screening, pages_subject,
                   pages_randomization, pages_followup, pages_trial, pages_queries):
        app.include_router(module.router)
    return app
