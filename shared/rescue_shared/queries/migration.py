"""The data query tables as a service's alembic revision creates them (frozen here, as a
migration must be: later changes are new functions)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp


def create_data_query_tables() -> None:
    op.create_table(
        "data_query",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False),
        sa.Column("check_code", sa.String(100), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("record_id", sa.String(100), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        utc_timestamp("opened_at"),
        utc_timestamp("updated_at"),
    )
    op.create_index("ix_data_query_site_id", "data_query", ["site_id"])
    op.create_index("ix_data_query_state", "data_query", ["state"])
    op.create_index("ix_data_query_subject_check", "data_query", ["subject_id", "check_code"])
    op.create_table(
        "data_query_step",
        sa.Column("query_id", sa.String(36), sa.ForeignKey("data_query.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        utc_timestamp("at"),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("correction_ref", sa.String(100), nullable=True),
    )


def drop_data_query_tables() -> None:
    op.drop_table("data_query_step")
    for index in ("ix_data_query_subject_check", "ix_data_query_state", "ix_data_query_site_id"):
        op.drop_index(index, table_name="data_query")
    op.drop_table("data_query")
