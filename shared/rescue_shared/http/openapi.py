"""The OpenAPI document as the services really answer: integrators generate clients from it.

FastAPI documents what a route declares; the conventions every route shares live in middlewares
and dependencies it cannot see. `install_contract` replaces `app.openapi` with a builder that
adds them to every operation, including routes added later:

- errors are `application/problem+json` (`ProblemDetails`, RFC 9457 with `errors` naming each
  field and rule), never FastAPI's `HTTPValidationError`: 400 (bad `Idempotency-Key`, JSON nested
  too deeply), 401/403 (token, roles, from the route's dependencies), 404 (path parameters),
  409 (`Idempotency-Key` on POST), 413 (body caps on POST/PUT/PATCH), 415 (non-JSON bodies), 422
  (wherever FastAPI validates), 500 (everywhere);
- request headers `X-Correlation-ID` (every operation) and `Idempotency-Key` (POST); response
  headers `X-Correlation-ID` (every answer), `Idempotent-Replayed` (POST successes),
  `Retry-After` (409 on POST), `WWW-Authenticate` (401);
- a schema for every non-JSON answer (CSV, SVG, PNG, text), and no `application/json` on routes
  that never answer JSON;
- each service's request-body examples (`RequestExample`), placed on their operation, and the
  rules its operations enforce beyond what JSON Schema can state (a date not in the future, ...):
  listed in the 422 answer and under `x-rules-beyond-schema`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from rescue_shared.http.idempotency import KEY_PATTERN, MAX_KEY_LENGTH
from rescue_shared.http.problem_types import PROBLEM_TYPE_BASE
from rescue_shared.http.problems import PROBLEM_JSON

JSON = "application/json"
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_WRITE_METHODS = frozenset({"post", "put", "patch"})
# Schemas of the non-JSON media types the services answer with.
_TEXT_SCHEMAS: dict[str, dict[str, Any]] = {
    "text/csv": {"type": "string", "description": "CSV with a header row"},
    "image/svg+xml": {"type": "string", "description": "SVG document"},
    "image/png": {"type": "string", "format": "binary", "description": "PNG image"},
    "text/plain": {"type": "string"},
    "application/xml": {"type": "string", "description": "XML document"},
    "application/x-sas-xport": {"type": "string", "format": "binary",
                                "description": "SAS transport file (XPORT)"},
}


@dataclass(frozen=True)
class RequestExample:
    """A request body a service accepts, shown to integrators and posted by the contract tests.

    `path` gives the path parameters the example is meant for (documented as their examples)."""

    body: Any
    media_type: str = JSON
    path: Mapping[str, str] = field(default_factory=dict)


def problem_details_schema() -> dict[str, Any]:
    """RFC 9457 problem details, as `rescue_shared.http.problems` builds them."""
    return {
        "title": "ProblemDetails",
        "type": "object",
        "description": "An RFC 9457 problem. Branch on `type` (stable URIs, docs/problems.md); "
                       "`title` and `detail` are for people. Routes may add members of their "
                       "own (documented on the route).",
        "required": ["type", "title", "status", "detail", "instance"],
        "properties": {
            "type": {"type": "string", "format": "uri",
                     "description": f"The kind of problem: a URI under {PROBLEM_TYPE_BASE}",
                     "examples": [f"{PROBLEM_TYPE_BASE}validation-error"]},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "What was wrong, in words a person "
                                                        "can act on."},
            "instance": {"type": "string", "description": "The request path."},
            "errors": {"type": "array", "description": "One entry per bad field (422, some "
                                                       "400).",
                       "items": {"$ref": "#/components/schemas/FieldError"}},
            "correlation_id": {"type": "string", "description": "Quote it when reporting a "
                                                                "500."},
            "limit_bytes": {"type": "integer", "description": "The body limit (413)."},
            "applied_events": {"type": "array", "items": {"type": "object"},
                               "description": "The events a request already applied emitted "
                                              "(409 request-already-applied)."},
        },
        "additionalProperties": True,
    }


def field_error_schema() -> dict[str, Any]:
    return {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "rule", "message"],
        "properties": {
            "field": {"type": "string", "description": (
                "Dotted path of the field (`facts.age_years`, `measurements.0.date`).")},
            "rule": {"type": "string", "description": (
                "The broken rule (`missing`, `less_than_equal`, `date_in_future`, ...).")},
            "message": {"type": "string"},
        },
    }


_REQUEST_HEADERS: dict[str, dict[str, Any]] = {
    "CorrelationId": {
        "name": "X-Correlation-ID", "in": "header", "required": False,
        "description": "Your id for this request, echoed in the answer and every log line "
                       "(letters, digits, `._:-`, up to 100; any other value is replaced by a "
                       "new id).",
        "schema": {"type": "string"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key", "in": "header", "required": False,
        "description": "Makes a retry safe: the same caller repeating the key with the same "
                       "request gets the first answer again (`Idempotent-Replayed: true`) and no "
                       "second effect; with another request, 409 idempotency-key-reused; while "
                       "the first runs, 409 request-in-progress with `Retry-After`.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH,
                   "pattern": KEY_PATTERN},
        "example": "lab-msg-2026-03-02-000123",
    },
}
_RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Correlation-ID": {"description": "The request's correlation id (yours, or a new one).",
                         "required": True, "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the recorded answer to an "
                                           "earlier request with the same Idempotency-Key.",
                            "schema": {"type": "string", "enum": ["true"]}},
    "Retry-After": {"description": "Seconds to wait before retrying (request-in-progress).",
                    "schema": {"type": "integer", "minimum": 0}},
    "WWW-Authenticate": {"description": "The Bearer challenge.", "schema": {"type": "string"}},
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


@dataclass(frozen=True)
class _RouteFacts:
    authenticated: bool
    roles: tuple[str, ...] | None  # None: no role check


def _route_facts(route: Any) -> _RouteFacts:
    calls = list(_dependency_calls(route.dependant))
    roles = next((tuple(c.required_roles) for c in calls
                  if hasattr(c, "required_roles")), None)
    authenticated = roles is not None or any(getattr(c, "authenticates", False) for c in calls)
    return _RouteFacts(authenticated=authenticated, roles=roles)


def _problem_content() -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": dict(PROBLEM_REF)}}


def _add_problem(responses: dict[str, Any], status: int, description: str) -> None:
    """Document a problem+json answer (added beside what the route declared for that status)."""
    response = responses.setdefault(str(status), {"description": description})
    media = response.setdefault("content", {}).setdefault(PROBLEM_JSON, {})
    media.setdefault("schema", dict(PROBLEM_REF))


def _is_fastapi_validation(media: Mapping[str, Any]) -> bool:
    ref = str(media.get("schema", {}).get("$ref", ""))
    return ref.endswith("/HTTPValidationError")


def _document_errors(operation: dict[str, Any], method: str, facts: _RouteFacts) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in list(responses.items()):
        content = response.get("content")
        if status == "422" and content and _is_fastapi_validation(content.get(JSON, {})):
            del content[JSON]
            content.update(_problem_content())
            response["description"] = ("Invalid request: `errors` names each bad field and the "
                                       "broken rule; nothing was stored")
        elif status[0] in "45" and not content:  # declared by the route with words only
            response["content"] = _problem_content()
        elif content and PROBLEM_JSON in content:  # declared with an example only
            content[PROBLEM_JSON].setdefault("schema", dict(PROBLEM_REF))
    has_body = "requestBody" in operation
    path_params = any(p.get("in") == "path" for p in operation.get("parameters", []))
    if has_body or method == "post":
        _add_problem(responses, 400, "Bad request: a malformed Idempotency-Key, or a JSON body "
                                     "nested too deeply to read")
    if facts.authenticated:
        _add_problem(responses, 401, "No, invalid or expired bearer token")
    if facts.roles is not None:
        _add_problem(responses, 403, "The token holds none of the roles this operation "
                                     f"requires: {', '.join(sorted(facts.roles))}")
    if path_params:
        _add_problem(responses, 404, "Not found, or not visible to the caller (another site's "
                                     "subject looks exactly the same)")
    if method == "post":
        _add_problem(responses, 409, "Conflict: the Idempotency-Key was used with another "
                                     "request, that request is still running, or it was "
                                     "applied but its answer lost")
    if method in _WRITE_METHODS:
        _add_problem(responses, 413, "The request body exceeds its limit (`limit_bytes`)")
    body_types = operation.get("requestBody", {}).get("content", {})
    if body_types and JSON not in body_types and "415" not in responses:
        _add_problem(responses, 415, f"Unsupported Content-Type: send {', '.join(body_types)}")
    _add_problem(responses, 500, "Unexpected error: quote `correlation_id` when reporting it")


def _document_success_content(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.get("responses", {})
    described = [r.get("content") for s, r in responses.items() if s.startswith("2")]
    main = next((c for c in described if c), None)
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        content: dict[str, Any] = response.get("content") or {}
        if not content and main is not None:  # another success status, declared in words:
            response["content"] = copy.deepcopy(main)  # the same body
            continue
        others = [m for m in content if m != JSON]
        if others and JSON in content and not content[JSON].get("schema"):
            del content[JSON]  # FastAPI's default for a route that never answers JSON
        for media in others:
            if not content[media].get("schema") and media in _TEXT_SCHEMAS:
                content[media]["schema"] = dict(_TEXT_SCHEMAS[media])


def _document_headers(operation: dict[str, Any], method: str) -> None:
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    parameters.append(_ref("parameters", "CorrelationId"))
    if method == "post":
        parameters.append(_ref("parameters", "IdempotencyKey"))
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        headers["X-Correlation-ID"] = _ref("headers", "X-Correlation-ID")
        if method == "post" and status.startswith("2"):
            headers["Idempotent-Replayed"] = _ref("headers", "Idempotent-Replayed")
        if method == "post" and status == "409":
            headers["Retry-After"] = _ref("headers", "Retry-After")
        if status == "401":
            headers["WWW-Authenticate"] = _ref("headers", "WWW-Authenticate")


def _place_example(operation: dict[str, Any], operation_id: str,
                   example: RequestExample) -> None:
    content = operation.get("requestBody", {}).get("content", {})
    if example.media_type not in content:
        raise ValueError(f"example for {operation_id}: the operation takes no "
                         f"{example.media_type} body")
    content[example.media_type]["example"] = example.body
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("name") in example.path:
            parameter["example"] = example.path[parameter["name"]]


def _document_rules(operation: dict[str, Any], rules: Sequence[str]) -> None:
    operation["x-rules-beyond-schema"] = list(rules)
    _add_problem(operation["responses"], 422, "Invalid request")
    response = operation["responses"]["422"]
    response["description"] += (". Also refused with 422, by rules JSON Schema cannot state: "
                                 + "; ".join(rules))


def document_contract(document: dict[str, Any], app: FastAPI,
                      examples: Mapping[str, RequestExample],
                      rules_beyond_schema: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Add the shared conventions to a FastAPI-generated document (in place) and return it."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    schemas["ProblemDetails"] = problem_details_schema()
    schemas["FieldError"] = field_error_schema()
    components.setdefault("parameters", {}).update(copy.deepcopy(_REQUEST_HEADERS))
    components.setdefault("headers", {}).update(copy.deepcopy(_RESPONSE_HEADERS))
    seen: dict[str, str] = {}
    # FastAPI keeps included routers as such: their routes are reached through route contexts.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        facts = _route_facts(route)
        for method in sorted(m.lower() for m in route.methods or ()):
            operation = document["paths"][route.path_format][method]
            operation_id = operation["operationId"]
            if operation_id in seen:
                raise ValueError(f"operationId {operation_id!r} of {method.upper()} "
                                 f"{route.path_format} is already {seen[operation_id]}")
            seen[operation_id] = f"{method.upper()} {route.path_format}"
            _document_errors(operation, method, facts)
            _document_success_content(operation)
            if operation_id in examples:
                _place_example(operation, operation_id, examples[operation_id])
            if operation_id in rules_beyond_schema:
                _document_rules(operation, rules_beyond_schema[operation_id])
            _document_headers(operation, method)  # last: on every answer, the 422 included
    unknown = (set(examples) | set(rules_beyond_schema)) - set(seen)
    if unknown:
        raise ValueError(f"examples or rules for unknown operations: {', '.join(sorted(unknown))}")
    return document


def add_model_schemas(document: dict[str, Any], models: Sequence[type[BaseModel]]) -> None:
    """The schemas of `models` (and of the models they use) in the document's components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas.setdefault(model.__name__, schema)


def install_contract(app: FastAPI, examples: Mapping[str, RequestExample],
                     rules_beyond_schema: Mapping[str, Sequence[str]],
                     models: Sequence[type[BaseModel]] = ()) -> None:
    """Serve the completed document at /openapi.json (built once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            add_model_schemas(document, models)
            app.openapi_schema = document_contract(document, app, examples,
                                                   rules_beyond_schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
