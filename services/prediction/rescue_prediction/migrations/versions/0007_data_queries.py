"""Data queries and their steps.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from rescue_shared.queries.migration import create_data_query_tables, drop_data_query_tables

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_data_query_tables()


def downgrade() -> None:
    drop_data_query_tables()
