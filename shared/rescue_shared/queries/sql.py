"""Data queries on SQL: the two tables every service keeps (`data_query`, `data_query_step`) and
the repository its unit of work offers as `queries`. Steps are appended, never changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import cast

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_shared.db.platform_tables import utc_column
from rescue_shared.queries.lifecycle import DataQuery, QueryAction, QueryState, QueryStep


class DataQueryRow(SQLModel, table=True):
    __tablename__ = "data_query"
    __table_args__ = (Index("ix_data_query_subject_check", "subject_id", "check_code"),)

    id: str = Field(primary_key=True, max_length=36)
    site_id: str = Field(max_length=100, index=True)
    subject_id: str = Field(max_length=100)
    check_code: str = Field(max_length=100)
    field: str = Field(max_length=100)
    record_id: str | None = Field(default=None, max_length=100)
    message: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=20, index=True)
    opened_at: dt.datetime = Field(sa_column=utc_column())
    updated_at: dt.datetime = Field(sa_column=utc_column())


class DataQueryStepRow(SQLModel, table=True):
    __tablename__ = "data_query_step"

    query_id: str = Field(primary_key=True, max_length=36, foreign_key="data_query.id")
    seq: int = Field(primary_key=True)
    action: str = Field(max_length=20)
    actor: str = Field(max_length=200)
    at: dt.datetime = Field(sa_column=utc_column())
    text: str = Field(sa_column=Column(Text, nullable=False))
    correction_ref: str | None = Field(default=None, max_length=100)


def _query(row: DataQueryRow, steps: list[DataQueryStepRow]) -> DataQuery:
    # The columns are written from QueryState and QueryAction values only.
    return DataQuery(
        id=row.id, site_id=row.site_id, subject_id=row.subject_id, check=row.check_code,
        field=row.field, message=row.message, state=cast(QueryState, row.state),
        opened_at=row.opened_at, record_id=row.record_id,
        steps=[QueryStep(action=cast(QueryAction, s.action), actor=s.actor, at=s.at,
                         text=s.text, correction_ref=s.correction_ref) for s in steps])


class SqlDataQueries:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _steps(self, ids: Collection[str]) -> dict[str, list[DataQueryStepRow]]:
        found: dict[str, list[DataQueryStepRow]] = {i: [] for i in ids}
        if ids:
            rows = (await self._session.exec(
                select(DataQueryStepRow).where(col(DataQueryStepRow.query_id).in_(list(ids)))
                .order_by(col(DataQueryStepRow.query_id), col(DataQueryStepRow.seq)))).all()
            for row in rows:
                found[row.query_id].append(row)
        return found

    async def get(self, query_id: str, *, lock: bool = False) -> DataQuery | None:
        statement = select(DataQueryRow).where(DataQueryRow.id == query_id)
        if lock:  # one step at a time per query (FOR UPDATE on PostgreSQL)
            statement = statement.with_for_update()
        row = (await self._session.exec(statement.execution_options(
            populate_existing=True))).first()
        return None if row is None else _query(row, (await self._steps([row.id]))[row.id])

    async def add(self, query: DataQuery) -> None:
        self._session.add(DataQueryRow(
            id=query.id, site_id=query.site_id, subject_id=query.subject_id,
            check_code=query.check, field=query.field, record_id=query.record_id,
            message=query.message, state=query.state, opened_at=query.opened_at,
            updated_at=query.updated_at))
        await self._session.flush()
        self._add_steps(query, 0)

    def _add_steps(self, query: DataQuery, known: int) -> None:
        for seq, step in enumerate(query.steps[known:], start=known):
            self._session.add(DataQueryStepRow(
                query_id=query.id, seq=seq, action=step.action, actor=step.actor, at=step.at,
                text=step.text, correction_ref=step.correction_ref))

    async def save(self, query: DataQuery) -> None:
        """Store the query's state and its new steps (those beyond the ones stored)."""
        row = await self._session.get(DataQueryRow, query.id)
        if row is None:
            raise LookupError(f"no data query {query.id} to save (add it first)")
        stored = len((await self._steps([query.id]))[query.id])
        row.state = query.state
        row.updated_at = query.updated_at
        self._session.add(row)
        self._add_steps(query, stored)

    async def find(
        self, *, site_ids: Collection[str] | None = None, subject_id: str | None = None,
        state: QueryState | None = None, check: str | None = None,
        opened_before: dt.datetime | None = None,
    ) -> list[DataQuery]:
        """Queries by opening time, filtered (`site_ids` None: every site)."""
        statement = select(DataQueryRow).order_by(col(DataQueryRow.opened_at),
                                                  col(DataQueryRow.id))
        if site_ids is not None:
            statement = statement.where(col(DataQueryRow.site_id).in_(list(site_ids)))
        if subject_id is not None:
            statement = statement.where(DataQueryRow.subject_id == subject_id)
        if state is not None:
            statement = statement.where(DataQueryRow.state == state)
        if check is not None:
            statement = statement.where(DataQueryRow.check_code == check)
        if opened_before is not None:
            statement = statement.where(col(DataQueryRow.opened_at) < opened_before)
        rows = (await self._session.exec(statement)).all()
        steps = await self._steps([r.id for r in rows])
        return [_query(r, steps[r.id]) for r in rows]
