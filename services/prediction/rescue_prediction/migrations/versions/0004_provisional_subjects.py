"""Subjects known before their screening (provisional), and the quarantine of values sent for a
subject by a site other than the one that screened her.

A provisional subject has no screening yet (latest_screening_id and latest_screening_outcome are
NULL); existing rows are all screened and keep their values.

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
    with op.batch_alter_table("prediction_subject") as batch:
        batch.alter_column("latest_screening_id", existing_type=sa.String(36), nullable=True)
        batch.alter_column("latest_screening_outcome", existing_type=sa.String(20),
                           nullable=True)
        batch.add_column(sa.Column("chemotherapy_start_recorded_by", sa.String(200),
                                   nullable=True))
    op.create_table(
        "prediction_quarantined_input",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("sent_by_site_id", sa.String(100), nullable=False),
        sa.Column("screened_at_site_id", sa.String(100), nullable=False),
        sa.Column("screening_id", sa.String(36), nullable=False),
        sa.Column("received_by", sa.String(200), nullable=True),
        utc_timestamp("received_at", nullable=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        utc_timestamp("quarantined_at"),
    )


def downgrade() -> None:
    op.drop_table("prediction_quarantined_input")
    # Provisional subjects cannot be represented before this revision: they are dropped with
    # their values (a downgrade is for a database that never took such writes).
    op.execute("DELETE FROM prediction_ca125_correction WHERE subject_id IN (SELECT subject_id "
               "FROM prediction_subject WHERE latest_screening_id IS NULL)")
    op.execute("DELETE FROM prediction_ca125_measurement WHERE subject_id IN (SELECT subject_id "
               "FROM prediction_subject WHERE latest_screening_id IS NULL)")
    op.execute("DELETE FROM prediction_external_kelim WHERE subject_id IN (SELECT subject_id "
               "FROM prediction_subject WHERE latest_screening_id IS NULL)")
    op.execute("DELETE FROM prediction_subject WHERE latest_screening_id IS NULL")
    with op.batch_alter_table("prediction_subject") as batch:
        batch.drop_column("chemotherapy_start_recorded_by")
        batch.alter_column("latest_screening_outcome", existing_type=sa.String(20),
                           nullable=False)
        batch.alter_column("latest_screening_id", existing_type=sa.String(36), nullable=False)
