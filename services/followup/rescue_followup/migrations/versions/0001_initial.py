"""Platform tables and the screening records of the CONSORT flow.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "followup_screening_record",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("screening_id", sa.String(36), nullable=False),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("screening_date", sa.Date, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("followup_screening_record")
    drop_platform_tables()
