"""The audit trail on SQL: its two tables (the same in every service database, like the outbox),
the repository, and the unit of work that appends the staged entries when it commits.

Appending locks the head row (`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the transaction
holds the database's write lock from `BEGIN IMMEDIATE`), so replicas sharing a database append one
after the other and the chain never forks; the UNIQUE sequence and hash are the last line of
defence. The lock is taken at commit, after every other lock of the unit of work, and held only for
the append: writers queue on it briefly and can never deadlock on it. Verification reads the head
and the entries in one snapshot (`head_for_verification`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from sqlalchemy import JSON, Column, Index, Text, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from rescue_shared.audit.chain import AuditDraft, AuditEntry, AuditHead, next_entry
from rescue_shared.db.platform_tables import utc_column, utcnow
from rescue_shared.db.unit_of_work import UnitOfWork
from rescue_shared.observability.context import correlation_id_var

HEAD_ID = 1


class AuditHeadRow(SQLModel, table=True):
    """The chain head (one row, id 1, written by the migration): entry count and last hash."""

    __tablename__ = "audit_head"

    id: int = Field(default=HEAD_ID, primary_key=True)
    entries: int = 0
    hash: str = Field(max_length=64)


class AuditEntryRow(SQLModel, table=True):
    """One entry; never updated or deleted by the service."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_id", "sequence"),
                      Index("ix_audit_entry_site", "site_id", "sequence"))

    sequence: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    occurred_at: datetime = Field(sa_column=utc_column())
    action: str = Field(max_length=60)
    actor: str = Field(max_length=200)
    actor_roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    site_id: str | None = Field(default=None, max_length=100)
    subject_id: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    before: Any = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))
    correlation_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    event_id: str | None = Field(default=None, max_length=36)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


_FIELDS = ("sequence", "occurred_at", "action", "actor", "actor_roles", "site_id", "subject_id",
           "reason", "before", "after", "correlation_id", "event_id", "prev_hash", "hash")


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(**{name: getattr(row, name) for name in _FIELDS})


def _columns(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _FIELDS}


class SqlAuditTrail:
    """Implements `trail.AuditTrail` on one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._staged: list[AuditDraft] = []

    def record(self, draft: AuditDraft) -> None:
        self._staged.append(draft)

    def discard(self) -> None:
        self._staged = []

    async def append_staged(self) -> list[AuditEntry]:
        """Lock the head, chain the staged drafts after it, write them and the new head."""
        if not self._staged:
            return []
        row = (await self._session.exec(
            select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
            .execution_options(populate_existing=True))).one()
        head = AuditHead(entries=row.entries, hash=row.hash)
        at, correlation_id = utcnow(), correlation_id_var.get()
        appended = []
        for draft in self._staged:
            entry, head = next_entry(head, draft, occurred_at=at, correlation_id=correlation_id)
            appended.append(entry)
        # One multi-row INSERT (no ORM objects: a FHIR Bundle may stage many entries).
        await self._session.exec(insert(AuditEntryRow),
                                 params=[_columns(e) for e in appended])
        row.entries, row.hash = head.entries, head.hash
        self._session.add(row)
        await self._session.flush()
        self._staged = []
        return appended

    async def _head(self) -> AuditHead:
        row = (await self._session.exec(
            select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID)
            .execution_options(populate_existing=True))).first()
        if row is None:  # written by the migration that creates the trail: a broken store
            raise RuntimeError("the audit trail has no head")
        return AuditHead(entries=row.entries, hash=row.hash)

    async def head(self) -> AuditHead:
        return await self._head()

    async def head_for_verification(self) -> AuditHead:
        """On PostgreSQL the head and every entry after it are read in one REPEATABLE READ
        snapshot, so appends committed meanwhile are not seen and writers are not held up by a
        long verification (SQLite's transaction is one snapshot already)."""
        if self._session.get_bind().dialect.name == "postgresql" and (
                not self._session.in_transaction()):
            await self._session.connection(
                execution_options={"isolation_level": "REPEATABLE READ"})
        return await self._head()

    async def entries(self, *, after: int = -1, limit: int = 100, subject_id: str | None = None,
                      action: str | None = None,
                      site_ids: frozenset[str] | None = None) -> list[AuditEntry]:
        query = (select(AuditEntryRow).where(AuditEntryRow.sequence > after)
                 .order_by(col(AuditEntryRow.sequence)).limit(limit))
        if subject_id is not None:
            query = query.where(AuditEntryRow.subject_id == subject_id)
        if action is not None:
            query = query.where(AuditEntryRow.action == action)
        if site_ids is not None:
            query = query.where(col(AuditEntryRow.site_id).in_(sorted(site_ids)))
        return [_entry(row) for row in (await self._session.exec(query)).all()]


class UnitOfWorkWithAudit(UnitOfWork):
    """A service's SQL unit of work with its audit trail (`self.audit`): the staged entries are
    appended in the transaction that commits the change, and dropped when it rolls back."""

    audit: SqlAuditTrail

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.audit = SqlAuditTrail(self.session)
        return self

    async def commit(self) -> None:
        await self.audit.append_staged()
        await super().commit()

    async def rollback(self) -> None:
        await super().rollback()
        self.audit.discard()
