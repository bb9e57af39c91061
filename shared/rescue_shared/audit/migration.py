"""The audit tables as a service's alembic revision creates them (frozen, as a migration must be:
a later change is a new helper here and a new revision in each service)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

GENESIS_HASH = "0" * 64  # frozen copy of chain.GENESIS_HASH


def create_audit_tables() -> None:
    """Audit tables, version 1: the entries and their head (one row: empty chain)."""
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "entries": 0, "hash": GENESIS_HASH}])
    op.create_table(
        "audit_entry",
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        utc_timestamp("occurred_at"),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_roles", sa.JSON, nullable=False),
        sa.Column("site_id", sa.String(100), nullable=True),
        sa.Column("subject_id", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("before", sa.JSON, nullable=True),
        sa.Column("after", sa.JSON, nullable=True),
        sa.Column("correlation_id", sa.Text, nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_index("ix_audit_entry_subject", "audit_entry", ["subject_id", "sequence"])
    op.create_index("ix_audit_entry_site", "audit_entry", ["site_id", "sequence"])


def drop_audit_tables() -> None:
    op.drop_table("audit_entry")
    op.drop_table("audit_head")
