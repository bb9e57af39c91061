"""Concurrent first writes: insert a row unless its key exists, on SQLite and PostgreSQL.

Two requests creating the same subject at once must not end in a primary-key error (a 500): the
row is inserted with ON CONFLICT DO NOTHING, so exactly one insert wins, and the caller then reads
the row (locked on PostgreSQL) whoever inserted it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

Row = TypeVar("Row", bound=SQLModel)


async def insert_if_absent(session: AsyncSession, model: type[Row], values: dict[str, Any]) -> bool:
    """Insert `values` as a `model` row unless one with the same primary key exists.

    Returns True when this call inserted the row. Column defaults declared on the model are
    applied (through a model instance), so callers pass only what they know.
    """
    row = model.model_validate(values)
    table = SQLModel.metadata.tables[str(model.__tablename__)]
    data = {c.name: getattr(row, c.name) for c in table.columns
            if getattr(row, c.name, None) is not None}
    connection = await session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    result = await connection.execute(insert(table).values(**data).on_conflict_do_nothing())
    return bool(result.rowcount)


async def get_or_insert_locked(session: AsyncSession, model: type[Row], key: Any,
                               values: dict[str, Any]) -> tuple[Row, bool]:
    """The row with primary key `key`, inserted from `values` when absent, locked for update.

    Returns (row, created). On SQLite the transaction already holds the write lock (BEGIN
    IMMEDIATE), on PostgreSQL the row lock serializes the writers of one key.
    """
    created = await insert_if_absent(session, model, values)
    row = await session.get(model, key, with_for_update=True, populate_existing=True)
    assert row is not None, f"{model.__name__} {key!r} vanished right after its insert"
    return row, created
