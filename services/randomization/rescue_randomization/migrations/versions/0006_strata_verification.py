"""Strata as verified beside the strata as randomized.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "randomization_strata_verification",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("factor", sa.String(100), primary_key=True),
        sa.Column("randomized_level", sa.String(100), nullable=False),
        sa.Column("verified_level", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("verified_by", sa.String(200), nullable=False),
        utc_timestamp("verified_at"),
    )


def downgrade() -> None:
    op.drop_table("randomization_strata_verification")
