"""SQL repositories of the prediction service: `service_layer.repositories` on the tables.

The only module (with the unit of work) that speaks to the session. Rows are mapped to the
domain's objects on the way out and back on the way in; rows read in this unit of work are kept,
so that a save or a correction updates the row already loaded (and locked).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import TypeAdapter
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_prediction.adapters.tables import (
    Ca125Correction as CorrectionRow,
)
from rescue_prediction.adapters.tables import (
    Ca125Measurement,
    ExternalKelim,
    PredictionRecord,
    PredictionSubject,
)
from rescue_prediction.adapters.tables import (
    QuarantinedInput as QuarantineRow,
)
from rescue_prediction.domain.kelim import OfficialKelim
from rescue_prediction.domain.model import (
    Ca125Correction,
    Ca125Source,
    PredictionVersion,
    QuarantinedInput,
    QuarantineKind,
    ReceivedOfficialKelim,
    StoredCa125,
    Subject,
)
from rescue_prediction.domain.units import Censoring
from rescue_shared.db.insert_if_absent import get_or_insert_locked

# Stored strings back into the domain's closed sets (a value outside them is a ValidationError).
_CENSORING: TypeAdapter[Censoring | None] = TypeAdapter(Censoring | None)
_SOURCE: TypeAdapter[Ca125Source] = TypeAdapter(Ca125Source)
_KIND: TypeAdapter[QuarantineKind] = TypeAdapter(QuarantineKind)
_SCALE: TypeAdapter[Literal["standardized", "per_day"]] = TypeAdapter(
    Literal["standardized", "per_day"])


def _subject(row: PredictionSubject) -> Subject:
    return Subject(
        subject_id=row.subject_id, site_id=row.site_id, first_seen_at=row.first_seen_at,
        latest_screening_id=row.latest_screening_id,
        latest_screening_outcome=row.latest_screening_outcome,
        clinical_facts=dict(row.clinical_facts), screenings_seen=row.screenings_seen,
        chemotherapy_start_date=row.chemotherapy_start_date,
        chemotherapy_start_recorded_by=row.chemotherapy_start_recorded_by)


class SqlSubjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: dict[str, PredictionSubject] = {}

    def _seen(self, row: PredictionSubject | None) -> Subject | None:
        if row is None:
            return None
        self._rows[row.subject_id] = row
        return _subject(row)

    async def get(self, subject_id: str) -> Subject | None:
        row: PredictionSubject | None = await self._session.get(PredictionSubject, subject_id)
        return self._seen(row)

    async def lock(self, subject_id: str) -> Subject | None:
        row: PredictionSubject | None = await self._session.get(
            PredictionSubject, subject_id, with_for_update=True, populate_existing=True)
        return self._seen(row)

    async def lock_or_create(self, subject_id: str, site_id: str) -> Subject:
        row, _ = await get_or_insert_locked(self._session, PredictionSubject, subject_id,
                                            {"subject_id": subject_id, "site_id": site_id})
        self._rows[subject_id] = row
        return _subject(row)

    async def save(self, subject: Subject) -> None:
        row = self._rows.get(subject.subject_id)
        if row is None:
            found: PredictionSubject | None = await self._session.get(PredictionSubject,
                                                                      subject.subject_id)
            if found is None:
                raise LookupError(f"subject {subject.subject_id} was never stored")
            row = self._rows[subject.subject_id] = found
        row.site_id = subject.site_id
        row.latest_screening_id = subject.latest_screening_id
        row.latest_screening_outcome = subject.latest_screening_outcome
        row.clinical_facts = dict(subject.clinical_facts)
        row.screenings_seen = subject.screenings_seen
        row.chemotherapy_start_date = subject.chemotherapy_start_date
        row.chemotherapy_start_recorded_by = subject.chemotherapy_start_recorded_by
        self._session.add(row)


def _measurement(row: Ca125Measurement) -> StoredCa125:
    return StoredCa125(
        subject_id=row.subject_id, effective_date=row.effective_date, value_u_ml=row.value_u_ml,
        original_value=row.original_value, original_unit=row.original_unit, loinc=row.loinc,
        censoring=_CENSORING.validate_python(row.censoring),
        source=_SOURCE.validate_python(row.source), fhir_id=row.fhir_id,
        received_by=row.received_by, received_at=row.received_at)


class SqlCa125Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._rows: dict[tuple[str, date], Ca125Measurement] = {}

    async def series(self, subject_id: str) -> list[StoredCa125]:
        rows = (await self._session.exec(
            select(Ca125Measurement).where(Ca125Measurement.subject_id == subject_id)
            .order_by(col(Ca125Measurement.effective_date)))).all()
        self._rows.update(((r.subject_id, r.effective_date), r) for r in rows)
        return [_measurement(r) for r in rows]

    async def add(self, value: StoredCa125) -> None:
        row = Ca125Measurement(
            subject_id=value.subject_id, effective_date=value.effective_date,
            value_u_ml=value.value_u_ml, original_value=value.original_value,
            original_unit=value.original_unit, loinc=value.loinc, censoring=value.censoring,
            source=value.source, fhir_id=value.fhir_id, received_by=value.received_by,
            received_at=value.received_at)
        self._rows[(value.subject_id, value.effective_date)] = row
        self._session.add(row)

    async def replace(self, value: StoredCa125) -> None:
        key = (value.subject_id, value.effective_date)
        row = self._rows.get(key)
        if row is None:
            row = (await self._session.exec(select(Ca125Measurement).where(
                Ca125Measurement.subject_id == value.subject_id,
                Ca125Measurement.effective_date == value.effective_date))).one()
            self._rows[key] = row
        row.value_u_ml, row.censoring = value.value_u_ml, value.censoring
        row.original_value, row.original_unit = value.original_value, value.original_unit
        row.loinc = value.loinc
        self._session.add(row)

    async def remove_all(self, subject_id: str) -> None:
        await self._session.exec(
            delete(Ca125Measurement).where(col(Ca125Measurement.subject_id) == subject_id))
        self._rows = {k: r for k, r in self._rows.items() if k[0] != subject_id}


def _correction(row: CorrectionRow) -> Ca125Correction:
    return Ca125Correction(
        subject_id=row.subject_id, effective_date=row.effective_date,
        previous_value_u_ml=row.previous_value_u_ml,
        previous_original_value=row.previous_original_value,
        previous_original_unit=row.previous_original_unit,
        previous_censoring=row.previous_censoring, value_u_ml=row.value_u_ml,
        original_value=row.original_value, original_unit=row.original_unit,
        censoring=row.censoring, reason=row.reason, corrected_by=row.corrected_by,
        corrected_at=row.corrected_at)


class SqlCorrectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_subject(self, subject_id: str) -> list[Ca125Correction]:
        rows = (await self._session.exec(select(CorrectionRow).where(
            CorrectionRow.subject_id == subject_id).order_by(col(CorrectionRow.id)))).all()
        return [_correction(r) for r in rows]

    async def add(self, correction: Ca125Correction) -> None:
        c = correction
        self._session.add(CorrectionRow(
            subject_id=c.subject_id, effective_date=c.effective_date,
            previous_value_u_ml=c.previous_value_u_ml,
            previous_original_value=c.previous_original_value,
            previous_original_unit=c.previous_original_unit,
            previous_censoring=c.previous_censoring, value_u_ml=c.value_u_ml,
            original_value=c.original_value, original_unit=c.original_unit,
            censoring=c.censoring, reason=c.reason, corrected_by=c.corrected_by,
            corrected_at=c.corrected_at))

    async def remove_all(self, subject_id: str) -> None:
        await self._session.exec(
            delete(CorrectionRow).where(col(CorrectionRow.subject_id) == subject_id))


def _official(row: ExternalKelim) -> ReceivedOfficialKelim:
    return ReceivedOfficialKelim(
        subject_id=row.subject_id,
        kelim=OfficialKelim(value=row.value, scale=_SCALE.validate_python(row.scale),
                            source=row.source, version=row.calculator_version,
                            computed_on=row.computed_on),
        received_by=row.received_by, received_at=row.received_at)


class SqlOfficialKelimRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def latest(self, subject_id: str) -> ReceivedOfficialKelim | None:
        row = (await self._session.exec(
            select(ExternalKelim).where(ExternalKelim.subject_id == subject_id)
            .order_by(col(ExternalKelim.id).desc()).limit(1))).first()
        return _official(row) if row is not None else None

    async def of_subject(self, subject_id: str) -> list[ReceivedOfficialKelim]:
        rows = (await self._session.exec(
            select(ExternalKelim).where(ExternalKelim.subject_id == subject_id)
            .order_by(col(ExternalKelim.id)))).all()
        return [_official(r) for r in rows]

    async def add(self, kelim: ReceivedOfficialKelim) -> None:
        k = kelim.kelim
        self._session.add(ExternalKelim(
            subject_id=kelim.subject_id, value=k.value, scale=k.scale, source=k.source,
            calculator_version=k.version, computed_on=k.computed_on,
            received_by=kelim.received_by, received_at=kelim.received_at))

    async def remove_all(self, subject_id: str) -> None:
        await self._session.exec(
            delete(ExternalKelim).where(col(ExternalKelim.subject_id) == subject_id))


def _version(row: PredictionRecord) -> PredictionVersion:
    return PredictionVersion(
        prediction_id=row.prediction_id, subject_id=row.subject_id, site_id=row.site_id,
        version=row.version, classification=row.classification,
        kelim_per_day=row.kelim_per_day, kelim_standardized=row.kelim_standardized,
        kelim_source=row.kelim_source, model_version=row.model_version,
        protocol_version=row.protocol_version, trigger=row.trigger, result=row.result,
        created_at=row.created_at)


class SqlPredictionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def in_force(self, subject_id: str) -> PredictionVersion | None:
        row = (await self._session.exec(
            select(PredictionRecord).where(PredictionRecord.subject_id == subject_id)
            .order_by(col(PredictionRecord.version).desc()).limit(1))).first()
        return _version(row) if row is not None else None

    async def versions(self, subject_id: str) -> list[PredictionVersion]:
        rows = (await self._session.exec(
            select(PredictionRecord).where(PredictionRecord.subject_id == subject_id)
            .order_by(col(PredictionRecord.version)))).all()
        return [_version(r) for r in rows]

    async def add(self, version: PredictionVersion) -> None:
        v = version
        self._session.add(PredictionRecord(
            prediction_id=v.prediction_id, subject_id=v.subject_id, site_id=v.site_id,
            version=v.version, classification=v.classification, kelim_per_day=v.kelim_per_day,
            kelim_standardized=v.kelim_standardized, kelim_source=v.kelim_source,
            model_version=v.model_version, protocol_version=v.protocol_version,
            trigger=v.trigger, result=v.result, created_at=v.created_at))


def _quarantined(row: QuarantineRow) -> QuarantinedInput:
    return QuarantinedInput(
        id=row.id, subject_id=row.subject_id, kind=_KIND.validate_python(row.kind),
        sent_by_site_id=row.sent_by_site_id, screened_at_site_id=row.screened_at_site_id,
        screening_id=row.screening_id, received_by=row.received_by,
        received_at=row.received_at, payload=row.payload, reason=row.reason,
        quarantined_at=row.quarantined_at)


class SqlQuarantineRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_all(self, items: Sequence[QuarantinedInput]) -> None:
        self._session.add_all([QuarantineRow(
            subject_id=i.subject_id, kind=i.kind, sent_by_site_id=i.sent_by_site_id,
            screened_at_site_id=i.screened_at_site_id, screening_id=i.screening_id,
            received_by=i.received_by, received_at=i.received_at, payload=i.payload,
            reason=i.reason, quarantined_at=i.quarantined_at) for i in items])

    async def items(self, subject_id: str | None = None) -> list[QuarantinedInput]:
        statement = select(QuarantineRow).order_by(col(QuarantineRow.id))
        if subject_id is not None:
            statement = statement.where(QuarantineRow.subject_id == subject_id)
        return [_quarantined(r) for r in (await self._session.exec(statement)).all()]
