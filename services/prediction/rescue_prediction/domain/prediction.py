"""A subject's whole prediction from what is stored: pure, same inputs give the same figures.

The classification is `classification.predict_resection` (docs/protocol/resection-prediction.md
§ The combination rule); the result carries the KELIM used (docs/protocol/kelim.md § Which value
the prediction uses), the GCIG response (docs/protocol/gcig-ca125.md § Response), and every
input, so that it can be recomputed by hand. A new version is made only when the result differs
materially from the version in force (`material_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from rescue_prediction.domain.classification import Classification, predict_resection
from rescue_prediction.domain.gcig import GcigResult, assess_gcig_response
from rescue_prediction.domain.kelim import OfficialKelim, SelectedKelim
from rescue_prediction.domain.kinetics import points_from_observations
from rescue_prediction.domain.model import PredictionVersion, StoredCa125
from rescue_prediction.domain.protocol import ClassificationRule, PredictionProtocol
from rescue_prediction.domain.scores import AgoResult, ImodelResult, ScoreFacts

SCORE_FACTS = tuple(ScoreFacts.model_fields)


class MeasurementView(BaseModel):
    date: date
    value_u_ml: float
    original_value: float
    original_unit: str
    loinc: str
    censoring: str | None = None
    day: int | None = Field(None, description="Days since chemotherapy start (day 0).")
    source: Literal["json", "fhir"]
    fhir_id: str | None = None
    received_at: datetime


class PredictionInputs(BaseModel):
    """Everything the prediction was computed from, so that it can be recomputed by hand."""

    chemotherapy_start_date: date | None
    ca125: list[MeasurementView]
    official_kelim: OfficialKelim | None = None
    clinical_facts: dict[str, object] = Field(
        description="The screening facts the AGO score and iMODEL read.")
    screening_id: str | None = None


class PredictionBody(BaseModel):
    """The classification and every figure it rests on (stored as computed)."""

    classification: Classification
    reasons: list[str]
    missing: list[str]
    kelim: SelectedKelim = Field(description="The KELIM used, labelled by source; `local` holds "
                                             "the local fit (K, half-life, R², residual SD).")
    gcig: GcigResult | None = Field(None, description="GCIG CA-125 response (informative).")
    ago: AgoResult
    imodel: ImodelResult
    rule: ClassificationRule
    model_version: str
    protocol_version: str
    assumptions: list[str]
    inputs: PredictionInputs


def measurement_view(m: StoredCa125, start: date | None) -> MeasurementView:
    return MeasurementView(
        date=m.effective_date, value_u_ml=m.value_u_ml, original_value=m.original_value,
        original_unit=m.original_unit, loinc=m.loinc, censoring=m.censoring,
        day=(m.effective_date - start).days if start else None, source=m.source,
        fhir_id=m.fhir_id, received_at=m.received_at)


def score_facts(clinical_facts: Mapping[str, Any]) -> dict[str, Any]:
    """The screening facts the AGO score and iMODEL read (the others are not echoed)."""
    return {k: v for k, v in clinical_facts.items() if k in SCORE_FACTS}


def compute_prediction(
    *, clinical_facts: Mapping[str, Any], screening_id: str | None, start: date | None,
    series: Sequence[StoredCa125], official: OfficialKelim | None, protocol: PredictionProtocol,
) -> PredictionBody:
    """The whole prediction from the stored inputs."""
    values = [m.normalised() for m in series]
    facts = score_facts(clinical_facts)
    prediction = predict_resection(
        facts, protocol,
        ca125_points=points_from_observations(values, start) if start and values else None,
        official_kelim=official, series_without_start=bool(values) and start is None)
    gcig = (assess_gcig_response(values, start, **protocol.gcig_kwargs())
            if start and values else None)
    return PredictionBody(
        classification=prediction.classification, reasons=list(prediction.reasons),
        missing=list(prediction.missing), kelim=prediction.kelim, gcig=gcig,
        ago=prediction.ago, imodel=prediction.imodel, rule=prediction.rule,
        model_version=prediction.model_version, protocol_version=prediction.protocol_version,
        assumptions=list(prediction.assumptions),
        inputs=PredictionInputs(
            chemotherapy_start_date=start, ca125=[measurement_view(m, start) for m in series],
            official_kelim=official, clinical_facts=facts, screening_id=screening_id,
        ),
    )


def _material(classification: str, source: str | None, k: float | None,
              std: float | None) -> tuple[object, ...]:
    return (classification, source, None if k is None else round(k, 12),
            None if std is None else round(std, 12))


def changes_materially(body: PredictionBody, in_force: PredictionVersion | None) -> bool:
    """Whether `body` needs a new version: its classification or its KELIM (source, K,
    standardized) differs from the version in force, or there is none."""
    if in_force is None:
        return True
    k = body.kelim
    return _material(body.classification, k.source, k.k_per_day, k.standardized) != _material(
        in_force.classification, in_force.kelim_source, in_force.kelim_per_day,
        in_force.kelim_standardized)
