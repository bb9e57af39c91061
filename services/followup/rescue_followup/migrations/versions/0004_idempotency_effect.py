"""Idempotency-Key claims remember the effect they committed (platform tables, version 2).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from rescue_shared.db.migrations import (
    add_idempotency_effect_columns,
    drop_idempotency_effect_columns,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_idempotency_effect_columns()


def downgrade() -> None:
    drop_idempotency_effect_columns()
