"""Order-independent eligibility events: decisions parked until their screening arrives, and the
time of the latest screening (an older screening replayed later does not replace it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("randomization_candidate") as batch:
        batch.add_column(utc_timestamp("latest_screening_at", nullable=True))
    op.create_table(
        "randomization_pending_decision",
        sa.Column("screening_id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("failed_criteria", sa.JSON, nullable=True),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("producer", sa.String(100), nullable=False),
        utc_timestamp("occurred_at"),
        utc_timestamp("parked_at"),
        utc_timestamp("applied_at", nullable=True),
    )


def downgrade() -> None:
    op.drop_table("randomization_pending_decision")
    with op.batch_alter_table("randomization_candidate") as batch:
        batch.drop_column("latest_screening_at")
