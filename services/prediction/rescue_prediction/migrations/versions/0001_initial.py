"""Platform tables and the subjects known from screenings.

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
        "prediction_subject",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False, index=True),
        sa.Column("latest_screening_id", sa.String(36), nullable=False),
        sa.Column("latest_screening_outcome", sa.String(20), nullable=False),
        sa.Column("clinical_facts", sa.JSON, nullable=False),
        sa.Column("screenings_seen", sa.Integer, nullable=False),
        utc_timestamp("first_seen_at"),
    )


def downgrade() -> None:
    op.drop_table("prediction_subject")
    drop_platform_tables()
