"""The screening form, generated from the criteria in force and the API's own fact schema.

`/v1/criteria` says which facts each criterion reads; the eligibility OpenAPI document's
`ClinicalFacts` schema says each fact's type, unit, choices and range. A new protocol version or
a new fact changes the form without a change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Explicit null is a known value for this fact ("not evaluable"), as the API documents.
NOT_EVALUABLE = "not_evaluable"


@dataclass(frozen=True)
class FactField:
    name: str
    label: str
    kind: str  # integer | number | bool | enum
    unit: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    description: str | None = None
    used_by: tuple[str, ...] = field(default=())
    nullable_known: bool = False  # an explicit "not evaluable" is a value

    @property
    def type_label(self) -> str:
        if self.kind == "enum":
            return "choice"
        if self.kind == "bool":
            return "yes / no"
        text = "whole number" if self.kind == "integer" else "number"
        limits = []
        if self.minimum is not None:
            limits.append(f"≥ {self.minimum:g}")
        if self.exclusive_minimum is not None:
            limits.append(f"> {self.exclusive_minimum:g}")
        if self.maximum is not None:
            limits.append(f"≤ {self.maximum:g}")
        return f"{text} {' '.join(limits)}".strip()


def rule_facts(rule: Mapping[str, Any] | None) -> list[str]:
    """Fact names a rule reads, in order (conditions, `all`, `any`)."""
    if not rule:
        return []
    if "fact" in rule:
        return [str(rule["fact"])]
    return [f for part in rule.get("all", rule.get("any", [])) for f in rule_facts(part)]


def _resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: Mapping[str, Any] = components.get(ref.rsplit("/", 1)[-1], {})
        return resolved
    return schema


def _field(name: str, prop: Mapping[str, Any], components: Mapping[str, Any],
           used_by: tuple[str, ...]) -> FactField:
    options = [_resolve(o, components) for o in prop.get("anyOf", [prop])]
    typed = next((o for o in options if o.get("type") != "null"), {})
    nullable_known = "explicit null" in str(prop.get("description", ""))
    common: dict[str, Any] = {"name": name, "label": str(prop.get("title") or name),
                              "unit": prop.get("unit"), "description": prop.get("description"),
                              "used_by": used_by, "nullable_known": nullable_known}
    if "enum" in typed:
        return FactField(kind="enum", choices=tuple(str(c) for c in typed["enum"]), **common)
    if typed.get("type") == "boolean":
        return FactField(kind="bool", **common)
    return FactField(kind="integer" if typed.get("type") == "integer" else "number",
                     minimum=typed.get("minimum"), maximum=typed.get("maximum"),
                     exclusive_minimum=typed.get("exclusiveMinimum"), **common)


def fact_fields(openapi: Mapping[str, Any], criteria: Mapping[str, Any]) -> list[FactField]:
    """Every fact, those the criteria read first (in order of first use), each naming its
    criteria; then the facts only the prediction reads."""
    components = openapi.get("components", {}).get("schemas", {})
    properties = components.get("ClinicalFacts", {}).get("properties", {})
    used: dict[str, list[str]] = {}
    for criterion in criteria["protocol"]["criteria"]:
        for fact in rule_facts(criterion.get("rule")):
            used.setdefault(fact, [])
            if criterion["id"] not in used[fact]:
                used[fact].append(criterion["id"])
    order = list(used) + [n for n in properties if n not in used]
    return [_field(n, properties[n], components, tuple(used.get(n, ())))
            for n in order if n in properties]


def read_facts(form: Mapping[str, str], fields: list[FactField]
               ) -> tuple[dict[str, Any], dict[str, str]]:
    """The facts to send (blank = unknown, left out) and the inputs that cannot be read."""
    facts: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        raw = form.get(f"fact.{f.name}", "").strip()
        if raw == "":
            continue
        if f.kind == "bool":
            if raw == NOT_EVALUABLE and f.nullable_known:
                facts[f.name] = None
            elif raw in ("true", "false"):
                facts[f.name] = raw == "true"
            else:
                errors[f.name] = "Choose yes, no or unknown."
        elif f.kind == "enum":
            if raw in f.choices:
                facts[f.name] = raw
            else:
                errors[f.name] = "Choose one of the listed values."
        else:
            try:
                number = float(raw.replace(",", "."))
            except ValueError:
                errors[f.name] = f"Enter a {f.type_label.split(' ≥')[0]}, e.g. 12."
                continue
            if f.kind == "integer":
                if not number.is_integer():
                    errors[f.name] = "Enter a whole number."
                    continue
                facts[f.name] = int(number)
            else:
                facts[f.name] = number
    return facts, errors
