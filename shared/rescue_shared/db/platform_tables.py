"""Tables every service database has: outbox, inbox and idempotency records.

Declared once here and created by each service's first alembic migration through
`rescue_shared.db.migrations.create_platform_tables`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every engine (SQLite forgets the zone; we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(nullable: bool = False) -> Column[datetime]:
    """A column for a UTC timestamp (use with `Field(sa_column=...)`)."""
    return Column(UtcDateTime(), nullable=nullable)


class OutboxMessage(SQLModel, table=True):
    """An event written in the same transaction as the state change it announces."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_unpublished", "published_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=36)
    event_type: str = Field(max_length=100)
    topic: str = Field(max_length=200)
    message_key: str = Field(max_length=200)
    value: str = Field(sa_column=Column(Text, nullable=False))
    headers: str = Field(sa_column=Column(Text, nullable=False), description="JSON object")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    published_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class InboxMessage(SQLModel, table=True):
    """An event a consumer has applied; inserted in the same transaction as the effect."""

    __tablename__ = "inbox_message"

    consumer: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=100)
    topic: str = Field(max_length=200)
    partition: int
    offset: int
    applied_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a POST carrying an Idempotency-Key, replayed on retries."""

    __tablename__ = "idempotency_record"

    caller: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    request_fingerprint: str = Field(max_length=64)
    status_code: int | None = None
    content_type: str | None = Field(default=None, max_length=200)
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    completed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # Set in the transaction that committed the request's effect, with the events it emitted
    # (JSON): a claim retaken after a crash never runs an applied request again.
    effect_committed_at: datetime | None = Field(default=None,
                                                 sa_column=utc_column(nullable=True))
    effect_events: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


PLATFORM_TABLES = (OutboxMessage, InboxMessage, IdempotencyRecord)
