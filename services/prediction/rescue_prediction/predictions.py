"""A subject's prediction: computed from what is stored, versioned, announced when it changes.

Called in the same transaction as the change of inputs (CA-125 values, an official KELIM, new
screening facts). A new version is stored, and `prediction.completed` staged in the outbox, only
when the classification or the KELIM (value or source) differs from the version in force.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlmodel import col, select

from rescue_prediction.domain.classification import classify_resection
from rescue_prediction.domain.gcig import assess_gcig_response
from rescue_prediction.domain.kelim import OfficialKelim, select_kelim
from rescue_prediction.domain.kinetics import fit_k, points_from_observations
from rescue_prediction.domain.protocol import PredictionProtocol, load_protocol
from rescue_prediction.domain.scores import ScoreFacts, ago_score, imodel_score
from rescue_prediction.domain.units import NormalisedCa125
from rescue_prediction.schemas import (
    MeasurementView,
    PredictionBody,
    PredictionInputs,
    PredictionView,
)
from rescue_prediction.tables import (
    Ca125Measurement,
    ExternalKelim,
    PredictionRecord,
    PredictionSubject,
)
from rescue_shared.contracts import new_event
from rescue_shared.contracts.events import PredictionCompleted
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.observability.context import current_correlation_id

PROTOCOL_VERSION = "prediction-v1"  # the prediction protocol in force
SCORE_FACTS = tuple(ScoreFacts.model_fields)


def protocol() -> PredictionProtocol:
    return load_protocol(PROTOCOL_VERSION)


def normalised(row: Ca125Measurement) -> NormalisedCa125:
    return NormalisedCa125(
        effective_date=row.effective_date, value_u_ml=row.value_u_ml,
        original_value=row.original_value, original_unit=row.original_unit, loinc=row.loinc,
        censoring=row.censoring,  # type: ignore[arg-type]
    )


def measurement_view(row: Ca125Measurement, start: date | None) -> MeasurementView:
    return MeasurementView(
        date=row.effective_date, value_u_ml=row.value_u_ml, original_value=row.original_value,
        original_unit=row.original_unit, loinc=row.loinc, censoring=row.censoring,
        day=(row.effective_date - start).days if start else None,
        source=row.source,  # type: ignore[arg-type]
        fhir_id=row.fhir_id, received_at=row.received_at,
    )


def official_of(row: ExternalKelim | None) -> OfficialKelim | None:
    if row is None:
        return None
    return OfficialKelim(value=row.value, scale=row.scale,  # type: ignore[arg-type]
                         source=row.source, version=row.calculator_version,
                         computed_on=row.computed_on)


def compute_prediction(
    subject: PredictionSubject, rows: Sequence[Ca125Measurement],
    official_row: ExternalKelim | None,
) -> PredictionBody:
    """The whole prediction from stored inputs (pure: same inputs, same figures)."""
    proto = protocol()
    settings = proto.kinetics_settings()
    start = subject.chemotherapy_start_date
    values = [normalised(r) for r in rows]
    official = official_of(official_row)
    local = fit_k(points_from_observations(values, start), settings) if start and values else None
    kelim = select_kelim(local, official, settings)
    if kelim.source is None and values and start is None:
        kelim = kelim.model_copy(update={"missing": (
            "KELIM: chemotherapy start date unknown (send it with "
            "POST /v1/subjects/{id}/ca125), so the CA-125 series cannot be placed in time")})
    facts = {k: v for k, v in subject.clinical_facts.items() if k in SCORE_FACTS}
    prediction = classify_resection(
        kelim, ago_score(facts),
        imodel_score(facts, low_risk_max=proto.classification_rule.imodel_max), proto)
    gcig = (assess_gcig_response(values, start, **proto.gcig_kwargs())  # type: ignore[arg-type]
            if start and values else None)
    return PredictionBody(
        classification=prediction.classification, reasons=list(prediction.reasons),
        missing=list(prediction.missing), kelim=prediction.kelim, gcig=gcig,
        ago=prediction.ago, imodel=prediction.imodel, rule=prediction.rule,
        model_version=prediction.model_version, protocol_version=prediction.protocol_version,
        assumptions=list(prediction.assumptions),
        inputs=PredictionInputs(
            chemotherapy_start_date=start, ca125=[measurement_view(r, start) for r in rows],
            official_kelim=official, clinical_facts=facts,
            screening_id=subject.latest_screening_id,
        ),
    )


def _material(classification: str, source: str | None, k: float | None,
              std: float | None) -> tuple[object, ...]:
    return (classification, source, None if k is None else round(k, 12),
            None if std is None else round(std, 12))


async def measurements_of(uow: UnitOfWork, subject_id: str) -> list[Ca125Measurement]:
    return list((await uow.session.exec(
        select(Ca125Measurement).where(Ca125Measurement.subject_id == subject_id)
        .order_by(col(Ca125Measurement.effective_date)))).all())


async def latest_official(uow: UnitOfWork, subject_id: str) -> ExternalKelim | None:
    return (await uow.session.exec(
        select(ExternalKelim).where(ExternalKelim.subject_id == subject_id)
        .order_by(col(ExternalKelim.id).desc()).limit(1))).first()


async def latest_record(uow: UnitOfWork, subject_id: str) -> PredictionRecord | None:
    return (await uow.session.exec(
        select(PredictionRecord).where(PredictionRecord.subject_id == subject_id)
        .order_by(col(PredictionRecord.version).desc()).limit(1))).first()


async def has_inputs(uow: UnitOfWork, subject_id: str) -> bool:
    first = (await uow.session.exec(select(Ca125Measurement.id).where(
        Ca125Measurement.subject_id == subject_id).limit(1))).first()
    return first is not None or await latest_official(uow, subject_id) is not None


async def recompute(
    uow: UnitOfWork, subject: PredictionSubject, trigger: str, causation_id: str | None = None,
) -> tuple[PredictionRecord | None, bool]:
    """Recompute; store and announce a new version if it changed materially.

    Returns the version in force (None when there is none) and whether it is new. The caller
    holds the subject's row lock (or SQLite's write lock), so versions cannot collide. A subject
    awaiting her screening gets none: the scores need the screening facts, and her values are
    used when `eligibility.screened` arrives.
    """
    await uow.session.flush()
    if subject.awaiting_screening:
        return None, False
    rows = await measurements_of(uow, subject.subject_id)
    official_row = await latest_official(uow, subject.subject_id)
    body = compute_prediction(subject, rows, official_row)
    latest = await latest_record(uow, subject.subject_id)
    k = body.kelim
    key = _material(body.classification, k.source, k.k_per_day, k.standardized)
    if latest is not None and key == _material(latest.classification, latest.kelim_source,
                                               latest.kelim_per_day, latest.kelim_standardized):
        return latest, False
    record = PredictionRecord(
        prediction_id=str(uuid.uuid4()), subject_id=subject.subject_id, site_id=subject.site_id,
        version=(latest.version + 1) if latest else 1, classification=body.classification,
        kelim_per_day=k.k_per_day, kelim_standardized=k.standardized, kelim_source=k.source,
        model_version=body.model_version, protocol_version=body.protocol_version,
        trigger=trigger, result=body.model_dump(mode="json"),
    )
    uow.session.add(record)
    settings = uow.settings
    uow.emit(new_event(
        PredictionCompleted(
            prediction_id=uuid.UUID(record.prediction_id), version=record.version,
            classification=body.classification, kelim=k.k_per_day,
            kelim_standardized=k.standardized, kelim_source=k.source,
            model_version=body.model_version, protocol_version=body.protocol_version,
            reasons=body.reasons,
        ),
        producer=settings.service_name, trial_id=settings.trial_id, site_id=subject.site_id,
        subject_id=subject.subject_id, correlation_id=current_correlation_id(),
        causation_id=causation_id,
    ))
    return record, True


def prediction_view(record: PredictionRecord, superseded: bool) -> PredictionView:
    return PredictionView(
        **PredictionBody.model_validate(record.result).model_dump(),
        prediction_id=uuid.UUID(record.prediction_id), subject_id=record.subject_id,
        site_id=record.site_id, version=record.version, superseded=superseded,
        trigger=record.trigger, created_at=record.created_at,
    )
