"""Data queries and their steps.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from rescue_shared.queries.migration import create_data_query_tables, drop_data_query_tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_data_query_tables()


def downgrade() -> None:
    drop_data_query_tables()
