"""Eligibility protocols as versioned data: the criterion model and the rule language.

Each protocol version is one YAML file ``rescue_eligibility/protocols/eligibility-v<version>.yaml``;
a new version is a new file, never an edit of a released one. Reading the files is an adapter's
job (`rescue_eligibility.adapters.protocol_files`); this module only validates
the mapping a file holds (:func:`parse_protocol`).

Rule language (parsed, never ``eval``-ed). A rule is one of::

    {fact: <name>, op: <op>, value: <v>}   # a condition; optional value_label names a value list
    {all: [<rule>, ...]}                     # every sub-rule holds
    {any: [<rule>, ...]}                     # at least one sub-rule holds

``op`` is one of ``== != >= > <= < in not_in is_true is_false``; ``in``/``not_in`` take a list,
``is_true``/``is_false`` take no value. Fact names, operators and operand types are checked against
:data:`~rescue_eligibility.domain.facts.FACT_SPECS` when the file is loaded (ordering operators
only on numbers, enum operands must be valid members, booleans only with booleans).

Evaluation is three-valued (Kleene): a condition on a missing fact is unknown (never "no");
``all`` is false if any part is false, else unknown if any part is unknown; ``any`` is true if any
part is true, else unknown if any part is unknown. A known ``null`` (GCIG "not evaluable") is
neither true nor false for ``is_true``/``is_false`` and fails ordering comparisons.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from rescue_eligibility.domain.facts import FACT_SPECS, NULL_IS_KNOWN, FactSpec, FactValue

Op = Literal["==", "!=", ">=", ">", "<=", "<", "in", "not_in", "is_true", "is_false"]
Scalar = bool | int | float | str | None
CriterionKind = Literal["inclusion", "exclusion"]

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
}
_NEGATED = {"==": "!=", "!=": "==", ">=": "<", ">": "<=", "<=": ">", "<": ">="}
_FROZEN = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class Verdict:
    """Three-valued result of a rule, with the reasons and fact values that decided it."""

    holds: bool | None
    reasons: tuple[str, ...]
    missing: tuple[str, ...] = ()
    used: Mapping[str, FactValue] = field(default_factory=dict)


def format_value(value: FactValue, spec: FactSpec) -> str:
    """Human form of a fact value (numbers without a spurious '.0', booleans as yes/no)."""
    if spec.kind == "bool":
        return "yes" if value is True else "no" if value is False else "not evaluable"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value} {spec.unit}" if spec.unit else str(value)


class Condition(BaseModel):
    """``fact op value``: one comparison of a named fact."""

    model_config = _FROZEN

    fact: str
    op: Op
    value: Scalar | tuple[Scalar, ...] = None
    value_label: str | None = Field(None, description="Name for the value list in reasons.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        spec = FACT_SPECS.get(self.fact)
        if spec is None:
            raise ValueError(f"unknown fact {self.fact!r}; known: {', '.join(FACT_SPECS)}")
        has_value = "value" in self.model_fields_set
        if self.op in ("is_true", "is_false"):
            if has_value or spec.kind != "bool":
                raise ValueError(f"{self.op} takes no value and needs a boolean fact")
        elif self.op in ("in", "not_in"):
            if not isinstance(self.value, tuple) or not self.value:
                raise ValueError(f"{self.op} needs a non-empty list value")
            for item in self.value:
                _check_operand(spec, item)
        elif not has_value or isinstance(self.value, tuple):
            raise ValueError(f"{self.op} needs a single value")
        elif self.op in _ORDER and spec.kind != "number":
            raise ValueError(f"{self.op} needs a numeric fact, {self.fact!r} is {spec.kind}")
        else:
            _check_operand(spec, self.value)
        return self

    def facts(self) -> tuple[str, ...]:
        """The fact names this rule reads."""
        return (self.fact,)

    def evaluate(self, facts: Mapping[str, FactValue]) -> Verdict:
        """Unknown if the fact is missing, otherwise whether the comparison holds."""
        spec = FACT_SPECS[self.fact]
        if self.fact not in facts:
            return Verdict(None, (f"{spec.label}: missing",), (self.fact,))
        actual = facts[self.fact]
        holds = self._apply(actual)
        return Verdict(holds, (self._describe(spec, actual, holds),), (), {self.fact: actual})

    def _apply(self, actual: FactValue) -> bool:
        if self.op == "is_true":
            return actual is True
        if self.op == "is_false":
            return actual is False
        if self.op in ("in", "not_in"):
            return (actual in self._listed()) == (self.op == "in")
        if self.op in ("==", "!="):
            return (actual == self.value) == (self.op == "==")
        return actual is not None and _ORDER[self.op](actual, self.value)

    def _describe(self, spec: FactSpec, actual: FactValue, holds: bool) -> str:
        shown = format_value(actual, spec)
        if spec.kind == "bool":
            return f"{spec.label}: {shown}"
        if self.op in ("in", "not_in"):
            inside = holds == (self.op == "in")
            if self.value_label:
                return f"{spec.label} {shown} {'is' if inside else 'is not'} {self.value_label}"
            listed = ", ".join(str(v) for v in self._listed())
            return f"{spec.label} {shown} {'in' if inside else 'not in'} [{listed}]"
        op = self.op if holds else _NEGATED[self.op]
        return f"{spec.label} {shown} {op} {format_value(self._single(), spec)}"

    def _listed(self) -> tuple[Scalar, ...]:
        """The value list of an in / not_in rule (checked at load)."""
        assert isinstance(self.value, tuple), "in / not_in rules hold a list"
        return self.value

    def _single(self) -> Scalar:
        """The single operand of a comparison rule (checked at load)."""
        assert not isinstance(self.value, tuple), "comparison rules hold one value"
        return self.value


def _check_operand(spec: FactSpec, value: Scalar | tuple[Scalar, ...]) -> None:
    """Reject an operand whose type does not fit the fact (e.g. a typo in an enum value)."""
    if value is None:
        ok = spec.name in NULL_IS_KNOWN
    elif spec.kind == "bool":
        ok = isinstance(value, bool)
    elif spec.kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str) and value in spec.choices
    if not ok:
        raise ValueError(f"value {value!r} does not fit {spec.kind} fact {spec.name!r}")


def _combine(parts: Sequence[Verdict], decisive: bool) -> Verdict:
    """Kleene all (decisive=False) / any (decisive=True) with the reasons that decided it."""
    hits = [v for v in parts if v.holds is decisive]
    unknown = [v for v in parts if v.holds is None]
    holds: bool | None = decisive if hits else (None if unknown else not decisive)
    shown = hits or parts
    missing = () if hits else tuple(dict.fromkeys(f for v in unknown for f in v.missing))
    used = {k: val for v in shown for k, val in v.used.items()}
    return Verdict(holds, tuple(r for v in shown for r in v.reasons), missing, used)


class AllOf(BaseModel):
    """Holds when every sub-rule holds."""

    model_config = _FROZEN

    all: tuple[Rule, ...] = Field(min_length=1)

    def facts(self) -> tuple[str, ...]:
        """The fact names this rule reads."""
        return tuple(dict.fromkeys(f for r in self.all for f in r.facts()))

    def evaluate(self, facts: Mapping[str, FactValue]) -> Verdict:
        """Kleene conjunction of the sub-rules."""
        return _combine([r.evaluate(facts) for r in self.all], decisive=False)


class AnyOf(BaseModel):
    """Holds when at least one sub-rule holds."""

    model_config = _FROZEN

    any: tuple[Rule, ...] = Field(min_length=1)

    def facts(self) -> tuple[str, ...]:
        """The fact names this rule reads."""
        return tuple(dict.fromkeys(f for r in self.any for f in r.facts()))

    def evaluate(self, facts: Mapping[str, FactValue]) -> Verdict:
        """Kleene disjunction of the sub-rules."""
        return _combine([r.evaluate(facts) for r in self.any], decisive=True)


def _rule_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "all" if "all" in value else "any" if "any" in value else "condition"
    tags: dict[type[BaseModel], str] = {Condition: "condition", AllOf: "all", AnyOf: "any"}
    return tags.get(type(value))


Rule = Annotated[
    Annotated[Condition, Tag("condition")] | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")],
    Discriminator(_rule_tag),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class Criterion(BaseModel):
    """One eligibility criterion. For an exclusion the rule describes the EXCLUDING condition."""

    model_config = _FROZEN

    id: str = Field(pattern=r"^(INC|EXC)-\d{2}$")
    kind: CriterionKind
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)
    decided_by: Literal["rule", "prediction"] = "rule"
    rule: Rule | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.id.startswith("INC") != (self.kind == "inclusion"):
            raise ValueError(f"{self.id}: id prefix does not match kind {self.kind!r}")
        if (self.rule is None) != (self.decided_by == "prediction"):
            raise ValueError(f"{self.id}: a rule is required exactly when decided_by is 'rule'")
        if self.decided_by == "prediction" and self.kind != "inclusion":
            raise ValueError(f"{self.id}: only an inclusion can be decided by the prediction")
        return self

    def facts(self) -> tuple[str, ...]:
        """The fact names this criterion reads (none when decided by the prediction)."""
        return self.rule.facts() if self.rule else ()


class Protocol(BaseModel):
    """One version of the protocol's eligibility criteria."""

    model_config = _FROZEN

    trial: str
    version: str = Field(min_length=1)
    criteria: tuple[Criterion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        ids = [c.id for c in self.criteria]
        if duplicates := sorted({i for i in ids if ids.count(i) > 1}):
            raise ValueError(f"duplicate criterion ids: {', '.join(duplicates)}")
        if sum(c.decided_by == "prediction" for c in self.criteria) > 1:
            raise ValueError("at most one criterion can be decided by the prediction")
        return self

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion with this id (KeyError if none)."""
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    def facts(self) -> tuple[str, ...]:
        """Every fact name some criterion reads, in order of first use."""
        return tuple(dict.fromkeys(f for c in self.criteria for f in c.facts()))


class ProtocolConfigError(ValueError):
    """A protocol file's content does not describe a valid protocol."""


def parse_protocol(data: Mapping[str, Any], origin: str = "<data>") -> Protocol:
    """Validate a protocol read from a file (`origin` names it in the error)."""
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolConfigError(f"{origin}: invalid protocol: {exc}") from exc
