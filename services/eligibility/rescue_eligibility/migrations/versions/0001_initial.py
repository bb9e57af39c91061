"""Platform tables and the screenings.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import create_platform_tables, drop_platform_tables, utc_timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "eligibility_screening",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("site_id", sa.String(100), nullable=False, index=True),
        sa.Column("screening_date", sa.Date, nullable=False),
        sa.Column("protocol_version", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("awaiting_prediction", sa.Boolean, nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("screened_by", sa.String(200), nullable=False),
        utc_timestamp("created_at"),
    )


def downgrade() -> None:
    op.drop_table("eligibility_screening")
    drop_platform_tables()
