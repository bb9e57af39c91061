"""The follow-up repositories on SQL (`service_layer/repositories.py` says what each promises).

Rows become plain domain objects (`domain/model.py`) as they are read, so nothing a use case holds
is tied to the session; `save` copies a changed object back onto its row. Whole-trial reads
(`all`, `by_subject`) run one Core SELECT of columns per table (no ORM entities, not even the
ORM's row loading) and group in one pass, whatever the number of subjects (the live analysis of
100,000 subjects reads 300,000 rows). Their JSON columns come as text and are decoded in one
`json.loads` of the whole column: one call per row cost more than the rest of the read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Text, cast
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from rescue_followup.adapters.tables import (
    Assessment,
    DataCutFile,
    DataCutRow,
    FollowupSubject,
    PendingInvalidation,
    PredictionRecord,
    ScreeningRecord,
    Visit,
)
from rescue_followup.adapters.tables import EligibilityDecision as DecisionRow
from rescue_followup.domain.data_cuts import CutFile, DataCut
from rescue_followup.domain.model import (
    EligibilityDecision,
    ParkedInvalidation,
    PlannedVisit,
    Prediction,
    Record,
    Screening,
    Subject,
)
from rescue_shared.db.insert_if_absent import insert_if_absent


def _as_text(column: Any) -> Any:
    """A JSON column read as its stored text (decoded per column by `_with_json`)."""
    return cast(column, Text).label(column.key)


def _place(columns: Sequence[Any], name: str) -> int:
    return next(i for i, c in enumerate(columns) if c.key == name)


_SUBJECT_COLUMNS = (
    col(FollowupSubject.subject_id), col(FollowupSubject.site_id),
    col(FollowupSubject.randomization_number), col(FollowupSubject.arm),
    _as_text(FollowupSubject.stratum), col(FollowupSubject.randomization_date),
    col(FollowupSubject.scheme), col(FollowupSubject.protocol_version),
    col(FollowupSubject.assigned_event_id), col(FollowupSubject.registered_at),
    col(FollowupSubject.invalidated), col(FollowupSubject.invalidated_at),
    col(FollowupSubject.invalidation_reason), col(FollowupSubject.announced_event_date),
    col(FollowupSubject.announced_event_kind), col(FollowupSubject.announced_withdrawal_date),
    col(FollowupSubject.announced_withdrawal_reason),
    _as_text(FollowupSubject.verified_stratum), col(FollowupSubject.strata_verified_at))
_RECORD_COLUMNS = (
    col(Assessment.id), col(Assessment.subject_id), col(Assessment.site_id),
    col(Assessment.type), col(Assessment.assessment_date), _as_text(Assessment.data),
    col(Assessment.recorded_by), col(Assessment.created_at), col(Assessment.supersedes_id),
    col(Assessment.correction_reason))
_STRATUM = _place(_SUBJECT_COLUMNS, "stratum")
_VERIFIED_STRATUM = _place(_SUBJECT_COLUMNS, "verified_stratum")
_DATA = _place(_RECORD_COLUMNS, "data")
_VISIT_COLUMNS = (
    col(Visit.subject_id), col(Visit.number), col(Visit.month), col(Visit.target_date),
    col(Visit.window_start), col(Visit.window_end))


def _subject(row: FollowupSubject) -> Subject:
    return Subject(
        subject_id=row.subject_id, site_id=row.site_id,
        randomization_number=row.randomization_number, arm=row.arm, stratum=dict(row.stratum),
        randomization_date=row.randomization_date, scheme=row.scheme,
        protocol_version=row.protocol_version, assigned_event_id=row.assigned_event_id,
        registered_at=row.registered_at, invalidated=row.invalidated,
        invalidated_at=row.invalidated_at, invalidation_reason=row.invalidation_reason,
        announced_event_date=row.announced_event_date,
        announced_event_kind=row.announced_event_kind,
        announced_withdrawal_date=row.announced_withdrawal_date,
        announced_withdrawal_reason=row.announced_withdrawal_reason,
        verified_stratum=None if row.verified_stratum is None else dict(row.verified_stratum),
        strata_verified_at=row.strata_verified_at)


def _columns(*columns: Any) -> Select[*tuple[Any, ...]]:
    """A query of plain columns (rows as tuples: no ORM entities to build and track)."""
    return Select(*columns)


async def _core_rows(session: AsyncSession, query: Any) -> list[Any]:
    """The rows of a column query run on the session's connection, in its transaction."""
    return list((await (await session.connection()).execute(query)).all())


def _json_column(rows: Sequence[Any], at: int) -> list[Any]:
    """Column `at` of the rows (JSON text as stored, or NULL) decoded in one json.loads."""
    texts = ["null" if row[at] is None else row[at] for row in rows]
    values: list[Any] = json.loads("[" + ",".join(texts) + "]")
    if len(values) != len(rows):  # only a corrupt stored text could split or join values
        raise ValueError(f"stored JSON of column {at} does not decode to one value per row")
    return values


def _with_json(rows: Sequence[Any], *columns: int) -> list[list[Any]]:
    """The rows as lists, their JSON columns decoded."""
    out = [list(row) for row in rows]
    for at in columns:
        for row, value in zip(out, _json_column(rows, at), strict=True):
            row[at] = value
    return out


def _copy_onto(row: Any, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(row, name, value)


class SqlSubjects:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _row(self, subject_id: str, *, lock: bool = False) -> FollowupSubject | None:
        query = select(FollowupSubject).where(FollowupSubject.subject_id == subject_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.exec(query)).first()

    async def get(self, subject_id: str, *, lock: bool = False) -> Subject | None:
        row = await self._row(subject_id, lock=lock)
        return _subject(row) if row is not None else None

    async def with_allocation(self, subject_id: str, randomization_number: str) -> Subject | None:
        row = (await self.session.exec(
            select(FollowupSubject).where(FollowupSubject.subject_id == subject_id)
            .where(FollowupSubject.randomization_number == randomization_number))).first()
        return _subject(row) if row is not None else None

    async def add(self, subject: Subject) -> None:
        self.session.add(FollowupSubject(**asdict(subject)))

    async def save(self, subject: Subject) -> None:
        row = await self.session.get(FollowupSubject, subject.subject_id)
        if row is None:
            raise LookupError(f"subject {subject.subject_id} is not registered")
        _copy_onto(row, asdict(subject))
        self.session.add(row)

    async def all(self, sites: frozenset[str] | None = None) -> list[Subject]:
        query = _columns(*_SUBJECT_COLUMNS).order_by(col(FollowupSubject.subject_id))
        if sites is not None:
            query = query.where(col(FollowupSubject.site_id).in_(sites))
        rows = await _core_rows(self.session, query)
        return [Subject(*row) for row in _with_json(rows, _STRATUM, _VERIFIED_STRATUM)]


class SqlRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_subject(self, subject_id: str) -> list[Record]:
        query = (_columns(*_RECORD_COLUMNS).where(col(Assessment.subject_id) == subject_id)
                 .order_by(col(Assessment.created_at), col(Assessment.id)))
        return [Record(*row) for row in _with_json(await _core_rows(self.session, query), _DATA)]

    async def add(self, record: Record) -> None:
        self.session.add(Assessment(**asdict(record)))

    async def by_subject(self, sites: frozenset[str] | None = None) -> dict[str, list[Record]]:
        query = (_columns(*_RECORD_COLUMNS)
                 .order_by(col(Assessment.created_at), col(Assessment.id)))
        if sites is not None:
            query = query.where(col(Assessment.site_id).in_(sites))
        records: dict[str, list[Record]] = defaultdict(list)
        for row in _with_json(await _core_rows(self.session, query), _DATA):
            record = Record(*row)
            records[record.subject_id].append(record)
        return dict(records)


class SqlVisits:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_schedule(self, visits: Sequence[PlannedVisit]) -> None:
        self.session.add_all(Visit(**asdict(v)) for v in visits)

    async def of_subject(self, subject_id: str) -> list[PlannedVisit]:
        query = (_columns(*_VISIT_COLUMNS).where(col(Visit.subject_id) == subject_id)
                 .order_by(col(Visit.number)))
        return [PlannedVisit(*row) for row in (await self.session.exec(query)).all()]

    async def by_subject(
        self, sites: frozenset[str] | None = None
    ) -> dict[str, list[PlannedVisit]]:
        query = (_columns(*_VISIT_COLUMNS)
                 .join(FollowupSubject, col(FollowupSubject.subject_id) == col(Visit.subject_id))
                 .order_by(col(Visit.subject_id), col(Visit.number)))
        if sites is not None:
            query = query.where(col(FollowupSubject.site_id).in_(sites))
        visits: dict[str, list[PlannedVisit]] = defaultdict(list)
        for row in (await self.session.exec(query)).all():
            visit = PlannedVisit(*row)
            visits[visit.subject_id].append(visit)
        return dict(visits)


class SqlScreenings:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, screening: Screening) -> None:
        self.session.add(ScreeningRecord(**asdict(screening)))

    async def all(self, sites: frozenset[str] | None = None) -> list[Screening]:
        query = select(ScreeningRecord).order_by(col(ScreeningRecord.id))
        if sites is not None:
            query = query.where(col(ScreeningRecord.site_id).in_(sites))
        return [Screening(event_id=r.event_id, screening_id=r.screening_id,
                          subject_id=r.subject_id, site_id=r.site_id,
                          screening_date=r.screening_date, outcome=r.outcome,
                          failed_criteria=r.failed_criteria, occurred_at=r.occurred_at)
                for r in (await self.session.exec(query)).all()]


def _decision(row: DecisionRow) -> EligibilityDecision:
    return EligibilityDecision(
        subject_id=row.subject_id, site_id=row.site_id, screening_id=row.screening_id,
        decision=row.decision, event_id=row.event_id, decided_at=row.decided_at,
        failed_criteria=list(row.failed_criteria), reason=row.reason)


class SqlEligibilityDecisions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, subject_id: str) -> EligibilityDecision | None:
        row = await self.session.get(DecisionRow, subject_id)
        return _decision(row) if row is not None else None

    async def save(self, decision: EligibilityDecision) -> None:
        row = await self.session.get(DecisionRow, decision.subject_id)
        if row is None:
            self.session.add(DecisionRow(**asdict(decision)))
            return
        _copy_onto(row, asdict(decision))
        self.session.add(row)

    async def all(self, sites: frozenset[str] | None = None) -> list[EligibilityDecision]:
        query = select(DecisionRow)
        if sites is not None:
            query = query.where(col(DecisionRow.site_id).in_(sites))
        return [_decision(r) for r in (await self.session.exec(query)).all()]


def _prediction(row: PredictionRecord) -> Prediction:
    return Prediction(subject_id=row.subject_id, site_id=row.site_id,
                      prediction_id=row.prediction_id, version=row.version,
                      classification=row.classification)


class SqlPredictions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, subject_id: str) -> Prediction | None:
        row = await self.session.get(PredictionRecord, subject_id)
        return _prediction(row) if row is not None else None

    async def save(self, prediction: Prediction) -> None:
        row = await self.session.get(PredictionRecord, prediction.subject_id)
        if row is None:
            self.session.add(PredictionRecord(**asdict(prediction)))
            return
        _copy_onto(row, asdict(prediction))
        self.session.add(row)

    async def all(self, sites: frozenset[str] | None = None) -> list[Prediction]:
        query = select(PredictionRecord)
        if sites is not None:
            query = query.where(col(PredictionRecord.site_id).in_(sites))
        return [_prediction(r) for r in (await self.session.exec(query)).all()]


def _parked(row: PendingInvalidation) -> ParkedInvalidation:
    return ParkedInvalidation(
        subject_id=row.subject_id, randomization_number=row.randomization_number,
        site_id=row.site_id, reason=row.reason, invalidated_by=row.invalidated_by,
        invalidated_at=row.invalidated_at, event_id=row.event_id, parked_at=row.parked_at,
        applied_at=row.applied_at)


class SqlParkedInvalidations:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, subject_id: str, randomization_number: str,
                  ) -> ParkedInvalidation | None:
        row = await self.session.get(PendingInvalidation, (subject_id, randomization_number))
        return _parked(row) if row is not None else None

    async def add(self, parked: ParkedInvalidation) -> None:
        self.session.add(PendingInvalidation(**asdict(parked)))

    async def save(self, parked: ParkedInvalidation) -> None:
        row = await self.session.get(PendingInvalidation,
                                     (parked.subject_id, parked.randomization_number))
        if row is None:
            raise LookupError(f"no parked invalidation of {parked.randomization_number}")
        _copy_onto(row, asdict(parked))
        self.session.add(row)


def _cut(row: DataCutRow, files: dict[str, str]) -> DataCut:
    return DataCut(name=row.name, cutoff=row.cutoff, created_at=row.created_at,
                   created_by=row.created_by, reason=row.reason, digest=row.digest, files=files)


class SqlDataCuts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _files(self, name: str) -> dict[str, str]:
        rows = await self._session.exec(
            select(col(DataCutFile.path), col(DataCutFile.sha256))
            .where(col(DataCutFile.cut_name) == name).order_by(col(DataCutFile.path)))
        return {path: sha for path, sha in rows.all()}

    async def get(self, name: str) -> DataCut | None:
        row = await self._session.get(DataCutRow, name)
        return None if row is None else _cut(row, await self._files(name))

    async def add(self, cut: DataCut, files: Sequence[CutFile]) -> bool:
        # Two statisticians freezing one name at once: the first insert wins, the other sees it.
        inserted = await insert_if_absent(self._session, DataCutRow, {
            "name": cut.name, "cutoff": cut.cutoff, "created_at": cut.created_at,
            "created_by": cut.created_by, "reason": cut.reason, "digest": cut.digest})
        if inserted:
            self._session.add_all(
                DataCutFile(cut_name=cut.name, path=f.path, media_type=f.media_type,
                            sha256=f.sha256, content=f.content) for f in files)
        return inserted

    async def all(self) -> list[DataCut]:
        rows = (await self._session.exec(
            select(DataCutRow).order_by(col(DataCutRow.created_at), col(DataCutRow.name)))).all()
        return [_cut(row, await self._files(row.name)) for row in rows]

    async def file(self, name: str, path: str) -> CutFile | None:
        row = await self._session.get(DataCutFile, (name, path))
        return None if row is None else CutFile(row.path, row.media_type, row.content)
