"""Frozen data cuts and their files; the stratum as verified beside the one randomized.

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
    with op.batch_alter_table("followup_subject") as batch:
        batch.add_column(sa.Column("verified_stratum", sa.JSON(), nullable=True))
        batch.add_column(utc_timestamp("strata_verified_at", nullable=True))
    op.create_table(
        "followup_data_cut",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("cutoff", sa.Date(), nullable=False),
        utc_timestamp("created_at"),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "followup_data_cut_file",
        sa.Column("cut_name", sa.String(64), sa.ForeignKey("followup_data_cut.name"),
                  primary_key=True),
        sa.Column("path", sa.String(100), primary_key=True),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("followup_data_cut_file")
    op.drop_table("followup_data_cut")
    with op.batch_alter_table("followup_subject") as batch:
        batch.drop_column("strata_verified_at")
        batch.drop_column("verified_stratum")
