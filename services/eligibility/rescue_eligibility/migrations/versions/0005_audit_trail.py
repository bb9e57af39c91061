"""The audit trail: hash-chained entries and their head (rescue_shared.audit, tables version 1).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from rescue_shared.audit.migration import create_audit_tables, drop_audit_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
