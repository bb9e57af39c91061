"""Alembic helpers shared by the four services' migration environments.

Each service keeps its own alembic revisions; these functions avoid repeating the environment
script and the platform tables (outbox, inbox, idempotency) four times.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import datetime

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from rescue_shared.db.engine import build_engine


def alembic_config(database_url: str, script_location: str) -> Config:
    """An alembic Config for `script_location` ("package:migrations") and a database URL."""
    config = Config()
    config.set_main_option("script_location", script_location)
    config.attributes["database_url"] = database_url
    return config


async def upgrade_to_head(database_url: str, script_location: str) -> None:
    """Apply every pending revision. Runs alembic in a thread: its env starts its own loop."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url, script_location), "head")


def migration_lock_key(script_location: str) -> int:
    """The PostgreSQL advisory lock a service's migrations run under (signed 64-bit)."""
    digest = hashlib.sha256(f"rescue-migrate:{script_location}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def run_alembic_env() -> None:
    """Body of every service's migrations/env.py (online mode, async engine)."""
    config = context.config
    url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")

    def _migrate(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    lock_key = migration_lock_key(config.get_main_option("script_location") or "migrations")

    async def _run() -> None:
        engine = build_engine(url)
        try:
            async with engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    # Replicas starting together migrate one after the other: the lock lasts
                    # until this transaction (the whole upgrade) commits; the next one then
                    # finds nothing left to do. SQLite's BEGIN IMMEDIATE serializes by itself.
                    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                             {"key": lock_key})
                await connection.run_sync(_migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(_run())


def utc_timestamp(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def create_platform_tables() -> None:
    """Platform tables, version 1: frozen here, as a migration must be."""
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        utc_timestamp("created_at"),
        utc_timestamp("published_at", nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_outbox_message_unpublished", "outbox_message", ["published_at", "id"])
    op.create_table(
        "inbox_message",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        utc_timestamp("applied_at"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("caller", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("content_type", sa.String(200), nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        utc_timestamp("created_at"),
        utc_timestamp("completed_at", nullable=True),
    )


def add_idempotency_effect_columns() -> None:
    """Platform tables, version 2: the effect marker of an Idempotency-Key claim."""
    with op.batch_alter_table("idempotency_record") as batch:
        batch.add_column(utc_timestamp("effect_committed_at", nullable=True))
        batch.add_column(sa.Column("effect_events", sa.Text, nullable=True))


def drop_idempotency_effect_columns() -> None:
    with op.batch_alter_table("idempotency_record") as batch:
        batch.drop_column("effect_events")
        batch.drop_column("effect_committed_at")


def drop_platform_tables() -> None:
    for table in ("idempotency_record", "inbox_message", "outbox_message"):
        op.drop_table(table)
