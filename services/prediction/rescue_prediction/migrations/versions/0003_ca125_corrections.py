"""Corrections of stored CA-125 values (the earlier value, who, when, why).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_ca125_correction",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("previous_value_u_ml", sa.Float, nullable=False),
        sa.Column("previous_original_value", sa.Float, nullable=False),
        sa.Column("previous_original_unit", sa.String(40), nullable=False),
        sa.Column("previous_censoring", sa.String(40), nullable=True),
        sa.Column("value_u_ml", sa.Float, nullable=False),
        sa.Column("original_value", sa.Float, nullable=False),
        sa.Column("original_unit", sa.String(40), nullable=False),
        sa.Column("censoring", sa.String(40), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("corrected_by", sa.String(200), nullable=False),
        utc_timestamp("corrected_at"),
    )


def downgrade() -> None:
    op.drop_table("prediction_ca125_correction")
