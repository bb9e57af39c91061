"""Refused subject ids (another site's subject, reserved or confusable ids), for the monitors.

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
    op.create_table(
        "eligibility_access_refusal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        utc_timestamp("attempted_at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_roles", sa.JSON, nullable=False),
        sa.Column("site_id", sa.String(100), nullable=True, index=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("correlation_id", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("eligibility_access_refusal")
