"""RFC 9457 problem details: every error names what was wrong and which rule it broke."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from rescue_shared.errors import ServiceError
from rescue_shared.http.problem_types import problem_type_for

PROBLEM_JSON = "application/problem+json"


def problem_bytes(status: int, title: str, detail: str, path: str, *, type_: str | None = None,
                  **extensions: Any) -> bytes:
    """A problem document for the pure-ASGI middlewares, which answer before any route."""
    body = {"type": type_ or problem_type_for(status), "title": title, "status": status,
            "detail": detail, "instance": path, **extensions}
    return json.dumps(body).encode()


async def send_response(send: Send, status: int, content_type: str, body: bytes,
                        extra: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A whole response through raw ASGI `send` (content type and length set)."""
    headers = [(b"content-type", content_type.encode()),
               (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Problem(Exception):
    """Raise to answer with a problem+json document."""

    def __init__(
        self, status: int, title: str, detail: str, *, type_: str | None = None,
        headers: dict[str, str] | None = None, **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or problem_type_for(status)
        self.headers = headers
        self.extensions = extensions


def problem_response(
    request: Request, status: int, title: str, detail: str, *, type_: str | None = None,
    headers: dict[str, str] | None = None, **extensions: Any,
) -> JSONResponse:
    body = {
        "type": type_ or problem_type_for(status),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One entry per bad field: its dotted path, the broken rule and a message."""
    return [
        {"field": _field_path(tuple(err.get("loc", ()))), "rule": err.get("type", "invalid"),
         "message": err.get("msg", "")}
        for err in exc.errors()
    ]


def allowed_methods(app: FastAPI, path: str) -> str:
    """Every method some route answers at `path` (Starlette names only the first route's)."""
    methods: set[str] = set()
    for context in iter_route_contexts(app.routes):
        regex = getattr(context.route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(context.methods or ())
    return ", ".join(sorted(methods))


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc.status, exc.title, exc.detail, type_=exc.type,
                                headers=exc.headers, **exc.extensions)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc)
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem_response(request, 422, "Invalid request", f"invalid field(s): {fields}",
                                errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        title = HTTPStatus(exc.status_code).phrase
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request.app, request.url.path)
        return problem_response(request, exc.status_code, title, str(exc.detail),
                                headers=headers or None)

    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return problem_response(request, exc.status, exc.title, exc.detail, **exc.extensions)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
