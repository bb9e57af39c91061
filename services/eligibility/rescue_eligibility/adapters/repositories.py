"""The eligibility repositories on SQL (`service_layer/repositories.py` says what each promises).

Rows become plain domain objects (`domain/model.py`) as they are read, so nothing a use case holds
is tied to the session; `save` copies a changed object back onto its row.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from rescue_eligibility.adapters.tables import (
    EligibilityAccessRefusal,
    EligibilityScreening,
    EligibilitySubject,
)
from rescue_eligibility.domain.evaluation import ResectionClassification, ScreeningResult
from rescue_eligibility.domain.model import AccessRefusal, Screening, Subject
from rescue_eligibility.domain.subject_ids import RefusalCause
from rescue_shared.db.insert_if_absent import get_or_insert_locked


def _screening(row: EligibilityScreening) -> Screening:
    return Screening(
        id=row.id, subject_id=row.subject_id, site_id=row.site_id,
        screening_date=row.screening_date, protocol_version=row.protocol_version,
        facts=dict(row.facts), result=ScreeningResult.model_validate(row.result),
        screened_by=row.screened_by, created_at=row.created_at,
        final_result=(ScreeningResult.model_validate(row.final_result)
                      if row.final_result is not None else None),
        prediction_id=row.prediction_id, decided_at=row.decided_at)


def _write_screening(screening: Screening, row: EligibilityScreening) -> None:
    """The columns a screening may change after it is recorded (its final decision)."""
    row.final_result = (screening.final_result.model_dump(mode="json")
                        if screening.final_result is not None else None)
    row.final_decision = screening.final_decision
    row.prediction_id = screening.prediction_id
    row.decided_at = screening.decided_at


def _oldest_first(query: SelectOfScalar[EligibilityScreening],
                  ) -> SelectOfScalar[EligibilityScreening]:
    return query.order_by(col(EligibilityScreening.created_at), col(EligibilityScreening.id))


class SqlScreenings:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, screening_id: str) -> Screening | None:
        row = await self._session.get(EligibilityScreening, screening_id)
        return _screening(row) if row is not None else None

    async def add(self, screening: Screening) -> None:
        row = EligibilityScreening(
            id=screening.id, subject_id=screening.subject_id, site_id=screening.site_id,
            screening_date=screening.screening_date,
            protocol_version=screening.protocol_version, outcome=screening.result.outcome,
            awaiting_prediction=screening.result.awaiting_prediction,
            facts=dict(screening.facts), result=screening.result.model_dump(mode="json"),
            screened_by=screening.screened_by, created_at=screening.created_at)
        _write_screening(screening, row)
        self._session.add(row)

    async def save(self, screening: Screening) -> None:
        row = await self._session.get(EligibilityScreening, screening.id)
        if row is None:
            raise LookupError(f"screening {screening.id} is not recorded")
        _write_screening(screening, row)
        self._session.add(row)

    async def of_subject(self, subject_id: str) -> list[Screening]:
        query = select(EligibilityScreening).where(EligibilityScreening.subject_id == subject_id)
        return [_screening(row) for row in (await self._session.exec(_oldest_first(query)))]

    async def all(self, sites: frozenset[str] | None = None) -> list[Screening]:
        query = select(EligibilityScreening)
        if sites is not None:
            query = query.where(col(EligibilityScreening.site_id).in_(sites))
        return [_screening(row) for row in (await self._session.exec(_oldest_first(query)))]


def _subject(row: EligibilitySubject) -> Subject:
    return Subject(
        subject_id=row.subject_id, site_id=row.site_id,
        latest_screening_id=row.latest_screening_id, prediction_id=row.prediction_id,
        prediction_version=row.prediction_version,
        # Written only from the domain's values (see save), so read back as them.
        prediction_classification=cast("ResectionClassification | None",
                                       row.prediction_classification))


class SqlSubjects:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._claimed: dict[str, EligibilitySubject] = {}  # rows locked in this unit of work

    async def get(self, subject_id: str) -> Subject | None:
        row = await self._session.get(EligibilitySubject, subject_id)
        return _subject(row) if row is not None else None

    async def claim(self, subject_id: str, site_id: str) -> Subject:
        row, _ = await get_or_insert_locked(
            self._session, EligibilitySubject, subject_id,
            {"subject_id": subject_id, "site_id": site_id})
        self._claimed[subject_id] = row
        return _subject(row)

    async def save(self, subject: Subject) -> None:
        # The claimed row itself: looking it up again cost a round trip per screening.
        row = (self._claimed.get(subject.subject_id)
               or await self._session.get(EligibilitySubject, subject.subject_id))
        if row is None:
            raise LookupError(f"subject {subject.subject_id} is not registered")
        row.site_id = subject.site_id
        row.latest_screening_id = subject.latest_screening_id
        row.prediction_id = subject.prediction_id
        row.prediction_version = subject.prediction_version
        row.prediction_classification = subject.prediction_classification
        self._session.add(row)

    async def case_twin(self, subject_id: str) -> str | None:
        return (await self._session.exec(
            select(EligibilitySubject.subject_id)
            .where(func.lower(col(EligibilitySubject.subject_id)) == subject_id.lower())
            .where(col(EligibilitySubject.subject_id) != subject_id).limit(1))).first()


def _refusal(row: EligibilityAccessRefusal) -> AccessRefusal:
    return AccessRefusal(
        id=row.id, attempted_at=row.attempted_at, actor=row.actor,
        actor_roles=list(row.actor_roles), site_id=row.site_id, subject_id=row.subject_id,
        action=row.action, cause=cast("RefusalCause", row.cause),
        correlation_id=row.correlation_id)


class SqlAccessRefusals:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, refusal: AccessRefusal) -> None:
        self._session.add(EligibilityAccessRefusal(
            attempted_at=refusal.attempted_at, actor=refusal.actor,
            actor_roles=list(refusal.actor_roles), site_id=refusal.site_id,
            subject_id=refusal.subject_id, action=refusal.action, cause=refusal.cause,
            correlation_id=refusal.correlation_id))

    async def newest(self, *, site_id: str | None = None, subject_id: str | None = None,
                     limit: int = 200) -> list[AccessRefusal]:
        query = (select(EligibilityAccessRefusal)
                 .order_by(col(EligibilityAccessRefusal.id).desc()).limit(limit))
        if site_id is not None:
            query = query.where(EligibilityAccessRefusal.site_id == site_id)
        if subject_id is not None:
            query = query.where(EligibilityAccessRefusal.subject_id == subject_id)
        return [_refusal(row) for row in (await self._session.exec(query))]
