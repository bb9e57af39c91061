"""Screening facts: the typed, validated input of the eligibility evaluation.

Every fact is optional because a missing fact must be representable: a criterion that needs an
absent fact is "unknown", never "no". Types, enums and ranges are validated here, so an API built
on this model rejects bad input (HTTP 422) naming each offending field; unknown names are rejected.

"Absent" versus "explicit null": for every fact, ``None`` means missing, except
``nact_response_gcig_ca125`` where an explicitly supplied ``null`` means "not evaluable by GCIG" (a
known value). Leaving that field out means missing. :meth:`ClinicalFacts.known` applies this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictBool, StrictFloat, StrictInt

FactValue = str | int | float | bool | None
FactKind = Literal["number", "bool", "enum"]

#: Facts for which an explicit ``null`` is a known value ("not evaluable"), not a missing fact.
NULL_IS_KNOWN: frozenset[str] = frozenset({"nact_response_gcig_ca125"})


class Histology(StrEnum):
    """Tumour histology; the first eight values are invasive epithelial types."""

    HIGH_GRADE_SEROUS = "high_grade_serous"
    LOW_GRADE_SEROUS = "low_grade_serous"
    ENDOMETRIOID = "endometrioid"
    CLEAR_CELL = "clear_cell"
    MUCINOUS = "mucinous"
    CARCINOSARCOMA = "carcinosarcoma"
    MIXED_EPITHELIAL = "mixed_epithelial"
    OTHER_EPITHELIAL = "other_epithelial"
    NON_EPITHELIAL = "non_epithelial"
    BORDERLINE = "borderline"


class PrimarySite(StrEnum):
    """Primary tumour site."""

    OVARY = "ovary"
    FALLOPIAN_TUBE = "fallopian_tube"
    PERITONEUM = "peritoneum"


class RecistResponse(StrEnum):
    """Best RECIST 1.1 response during neoadjuvant chemotherapy (NE = not evaluable)."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


class ResidualDisease(StrEnum):
    """Residual disease after primary surgery."""

    NONE = "none"
    LT_1CM = "<1cm"
    GE_1CM = ">=1cm"
    UNKNOWN = "unknown"


class FigoStage(StrEnum):
    """Initial FIGO stage (sub-stage optional)."""

    I = "I"  # noqa: E741 - the FIGO stage is literally "I"
    IA = "IA"
    IB = "IB"
    IC = "IC"
    II = "II"
    IIA = "IIA"
    IIB = "IIB"
    III = "III"
    IIIA = "IIIA"
    IIIB = "IIIB"
    IIIC = "IIIC"
    IV = "IV"
    IVA = "IVA"
    IVB = "IVB"


def _fact(title: str, unit: str | None = None, **constraints: Any) -> Any:
    """An optional fact (default None) with a human label (and unit) used in reasons."""
    extra: dict[str, JsonValue] | None = {"unit": unit} if unit else None
    return Field(None, title=title, json_schema_extra=extra, **constraints)


class ClinicalFacts(BaseModel):
    """The named facts a screening is judged on; all optional, all validated.

    Numbers and booleans are strict: `true` is no age and `"yes"` no answer (the OpenAPI
    document says number and boolean; a lax reading would accept what it calls invalid)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    age_years: StrictInt | None = _fact("age", "years", ge=0, le=120)
    histology: Histology | None = _fact("histology")
    primary_site: PrimarySite | None = _fact("primary site")
    recurrence_number: StrictInt | None = _fact("recurrence number", ge=1)
    prior_chemotherapy_lines: StrictInt | None = _fact("prior chemotherapy lines", ge=0)
    platinum_free_interval_months: StrictFloat | None = _fact(
        "platinum-free interval", "months", ge=0)
    progressed_on_platinum: StrictBool | None = _fact(
        "progression during or within 6 months after platinum"
    )
    nact_cycles: StrictInt | None = _fact("neoadjuvant cycles", ge=1, le=12)
    nact_platinum_based: StrictBool | None = _fact("platinum-based neoadjuvant chemotherapy")
    nact_response_recist: RecistResponse | None = _fact("RECIST 1.1 response")
    nact_response_gcig_ca125: StrictBool | None = _fact(
        "GCIG CA-125 response",
        description="true/false; an explicit null means 'not evaluable'; omit if unknown.",
    )
    ecog: StrictInt | None = _fact("ECOG performance status", ge=0, le=4)
    ascites_ml: StrictFloat | None = _fact("ascites", "mL", ge=0)
    residual_disease_primary_surgery: ResidualDisease | None = _fact(
        "residual disease after primary surgery"
    )
    figo_stage_initial: FigoStage | None = _fact("initial FIGO stage")
    unresectable_disease_on_imaging: StrictBool | None = _fact(
        "radiological signs of unresectable disease"
    )
    palliative_surgery_only: StrictBool | None = _fact("planned palliative surgery only")
    ca125_at_recurrence_u_ml: StrictFloat | None = _fact("CA-125 at recurrence", "U/mL", gt=0)

    def known(self) -> dict[str, FactValue]:
        """The known facts by name, as plain JSON-compatible values (enums as strings).

        A fact is known when it is not None, or when it is in :data:`NULL_IS_KNOWN` and was
        explicitly supplied (its None then means "not evaluable"). The result can be fed back to
        :meth:`model_validate` without losing that distinction.
        """
        values: dict[str, FactValue] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None and not (name in NULL_IS_KNOWN and name in self.model_fields_set):
                continue
            values[name] = value.value if isinstance(value, Enum) else value
        return values


@dataclass(frozen=True)
class FactSpec:
    """What the rule language needs to know about a fact: its kind, label, unit and choices."""

    name: str
    kind: FactKind
    label: str
    unit: str | None
    choices: frozenset[str] = frozenset()


def _spec(name: str) -> FactSpec:
    field = ClinicalFacts.model_fields[name]
    base = next(a for a in get_args(field.annotation) if a is not type(None))
    if get_origin(base) is Annotated:  # StrictInt, StrictBool, ...: the type they constrain
        base = get_args(base)[0]
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    unit = extra.get("unit")
    label = field.title or name
    if issubclass(base, bool):
        return FactSpec(name, "bool", label, None)
    if issubclass(base, Enum):
        return FactSpec(name, "enum", label, None, frozenset(m.value for m in base))
    return FactSpec(name, "number", label, unit if isinstance(unit, str) else None)


#: The rule language's view of every fact, derived from :class:`ClinicalFacts`.
FACT_SPECS: dict[str, FactSpec] = {name: _spec(name) for name in ClinicalFacts.model_fields}
