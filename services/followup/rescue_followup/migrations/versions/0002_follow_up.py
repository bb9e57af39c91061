"""Subjects, visits and assessments; eligibility decisions and predictions for CONSORT.

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
    with op.batch_alter_table("followup_screening_record") as batch:
        batch.add_column(sa.Column("failed_criteria", sa.JSON, nullable=True))
    op.create_table(
        "followup_eligibility_decision",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("screening_id", sa.String(36), nullable=False),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("failed_criteria", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(2000), nullable=True),
        sa.Column("event_id", sa.String(36), nullable=False),
        utc_timestamp("decided_at"),
    )
    op.create_table(
        "followup_prediction",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("prediction_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("classification", sa.String(40), nullable=False),
    )
    op.create_table(
        "followup_subject",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False, index=True),
        sa.Column("randomization_number", sa.String(100), nullable=False),
        sa.Column("arm", sa.String(20), nullable=False),
        sa.Column("stratum", sa.JSON, nullable=False),
        sa.Column("randomization_date", sa.Date, nullable=False),
        sa.Column("scheme", sa.String(200), nullable=False),
        sa.Column("protocol_version", sa.String(20), nullable=False),
        sa.Column("assigned_event_id", sa.String(36), nullable=False),
        utc_timestamp("registered_at"),
        sa.Column("invalidated", sa.Boolean, nullable=False),
        utc_timestamp("invalidated_at", nullable=True),
        sa.Column("invalidation_reason", sa.String(2000), nullable=True),
        sa.Column("announced_event_date", sa.Date, nullable=True),
        sa.Column("announced_event_kind", sa.String(40), nullable=True),
        sa.Column("announced_withdrawal_date", sa.Date, nullable=True),
        sa.Column("announced_withdrawal_reason", sa.String(2000), nullable=True),
    )
    op.create_table(
        "followup_visit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("month", sa.Integer, nullable=False),
        sa.Column("target_date", sa.Date, nullable=False),
        sa.Column("window_start", sa.Date, nullable=False),
        sa.Column("window_end", sa.Date, nullable=False),
        sa.UniqueConstraint("subject_id", "number"),
    )
    op.create_table(
        "followup_assessment",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("type", sa.String(30), nullable=False),
        sa.Column("assessment_date", sa.Date, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("supersedes_id", sa.String(36), nullable=True, unique=True),
        sa.Column("correction_reason", sa.String(2000), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        utc_timestamp("created_at"),
    )


def downgrade() -> None:
    for table in ("followup_assessment", "followup_visit", "followup_subject",
                  "followup_prediction", "followup_eligibility_decision"):
        op.drop_table(table)
    with op.batch_alter_table("followup_screening_record") as batch:
        batch.drop_column("failed_criteria")
