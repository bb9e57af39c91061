"""Final eligibility after the prediction, and the subjects' latest prediction.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eligibility_screening") as batch:
        batch.add_column(sa.Column("final_decision", sa.String(20), nullable=False,
                                   server_default="pending"))
        batch.add_column(sa.Column("final_result", sa.JSON, nullable=True))
        batch.add_column(sa.Column("prediction_id", sa.String(36), nullable=True))
        batch.add_column(utc_timestamp("decided_at", nullable=True))
    op.create_table(
        "eligibility_subject",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("latest_screening_id", sa.String(36), nullable=True),
        sa.Column("prediction_id", sa.String(36), nullable=True),
        sa.Column("prediction_version", sa.Integer, nullable=True),
        sa.Column("prediction_classification", sa.String(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("eligibility_subject")
    with op.batch_alter_table("eligibility_screening") as batch:
        for column in ("decided_at", "prediction_id", "final_result", "final_decision"):
            batch.drop_column(column)
