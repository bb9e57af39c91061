"""Order-independent events: invalidations parked until their allocation arrives, and when each
screening occurred (the latest screening is the one that occurred last).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("followup_screening_record") as batch:
        batch.add_column(utc_timestamp("occurred_at", nullable=True))
    op.create_table(
        "followup_pending_invalidation",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("randomization_number", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("invalidated_by", sa.String(200), nullable=False),
        utc_timestamp("invalidated_at"),
        sa.Column("event_id", sa.String(36), nullable=False),
        utc_timestamp("parked_at"),
        utc_timestamp("applied_at", nullable=True),
    )


def downgrade() -> None:
    op.drop_table("followup_pending_invalidation")
    with op.batch_alter_table("followup_screening_record") as batch:
        batch.drop_column("occurred_at")
