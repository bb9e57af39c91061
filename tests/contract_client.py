"""A client generated at test time from a service's own OpenAPI document, as an integrator's is.

`await api.call("create_screening", json=...)` finds the operation by its operationId (method and
path come from the document, never from the test), checks the request against the document
(path parameters, JSON body) and the answer too: its status must be documented for the
operation, its content type documented for that status, a JSON body valid against the documented
schema, every required response header present. A test using it fails on any lie in the contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema_rs


class ContractViolation(AssertionError):
    """The request or the answer disagrees with the OpenAPI document."""


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    spec: dict[str, Any]


class ContractClient:
    def __init__(self, document: dict[str, Any], http: httpx.AsyncClient) -> None:
        self.document = document
        self.http = http
        self.operations = {
            spec["operationId"]: Operation(spec["operationId"], method.upper(), path, spec)
            for path, item in document["paths"].items() for method, spec in item.items()}

    @classmethod
    async def of(cls, http: httpx.AsyncClient) -> ContractClient:
        """A client of the service `http` reaches, from the document it serves."""
        response = await http.get("/openapi.json")
        response.raise_for_status()
        return cls(response.json(), http)

    def _check(self, schema: dict[str, Any], value: Any, what: str) -> None:
        # The schema's $refs point into the document's components.
        root = {"components": self.document.get("components", {}), "allOf": [schema]}
        errors = [e.message for e in jsonschema_rs.validator_for(
            root, validate_formats=True).iter_errors(value)]
        if errors:
            raise ContractViolation(f"{what} does not match the document: {errors[:5]}")

    def _resolve(self, item: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in item:
            kind, name = item["$ref"].split("/")[-2:]
            item = self.document["components"][kind][name]
        return item

    async def call(self, operation_id: str, *, path: dict[str, str] | None = None,
                   json: Any = None, content: str | bytes | None = None,
                   params: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> httpx.Response:
        if operation_id not in self.operations:
            raise ContractViolation(f"no operation {operation_id!r} in the document")
        operation = self.operations[operation_id]
        label = f"{operation.method} {operation.path} ({operation_id})"
        url = operation.path
        for parameter in map(self._resolve, operation.spec.get("parameters", [])):
            if parameter["in"] == "path":
                value = (path or {}).get(parameter["name"])
                if value is None:
                    raise ContractViolation(f"{label}: path parameter {parameter['name']} unset")
                self._check(parameter.get("schema", {}), value, f"{label} {parameter['name']}")
                url = url.replace("{" + parameter["name"] + "}", value)
        body_types = operation.spec.get("requestBody", {}).get("content", {})
        if json is not None:
            json_types = [m for m in body_types if _is_json(m)]
            if not json_types:
                raise ContractViolation(f"{label} takes no JSON body")
            self._check(body_types[json_types[0]].get("schema", {}), json, f"{label} body")
        elif content is not None and not body_types:
            raise ContractViolation(f"{label} takes no body")
        leftover = re.findall(r"{\w+}", url)
        if leftover:
            raise ContractViolation(f"{label}: path parameters {leftover} unset")
        response = await self.http.request(operation.method, url, json=json, content=content,
                                           params=params, headers=headers)
        self.check_answer(operation, response)
        return response

    def check_answer(self, operation: Operation, response: httpx.Response) -> None:
        label = f"{operation.method} {operation.path} ({operation.operation_id})"
        responses = operation.spec.get("responses", {})
        documented = responses.get(str(response.status_code)) or responses.get("default")
        if documented is None:
            raise ContractViolation(f"{label} answered {response.status_code}, documented: "
                                    f"{sorted(responses)}\n{response.text[:500]}")
        for name, header in documented.get("headers", {}).items():
            if self._resolve(header).get("required") and name not in response.headers:
                raise ContractViolation(f"{label} {response.status_code}: no header {name}")
        content = documented.get("content", {})
        if not response.content and not content:
            return
        media = _media_type(response.headers.get("content-type", ""))
        if media not in content:
            raise ContractViolation(f"{label} {response.status_code} answered {media!r}, "
                                    f"documented: {sorted(content)}")
        schema = content[media].get("schema")
        if schema and _is_json(media):
            self._check(schema, response.json(), f"{label} {response.status_code} answer")
