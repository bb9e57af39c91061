"""CA-125 measurements, official KELIMs, versioned predictions, chemotherapy start.

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
    with op.batch_alter_table("prediction_subject") as batch:
        batch.add_column(sa.Column("chemotherapy_start_date", sa.Date, nullable=True))
    op.create_table(
        "prediction_ca125_measurement",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("value_u_ml", sa.Float, nullable=False),
        sa.Column("original_value", sa.Float, nullable=False),
        sa.Column("original_unit", sa.String(40), nullable=False),
        sa.Column("loinc", sa.String(20), nullable=False),
        sa.Column("censoring", sa.String(40), nullable=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("fhir_id", sa.String(100), nullable=True),
        sa.Column("received_by", sa.String(200), nullable=False),
        utc_timestamp("received_at"),
        sa.UniqueConstraint("subject_id", "effective_date",
                            name="uq_prediction_ca125_subject_date"),
    )
    op.create_table(
        "prediction_external_kelim",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("scale", sa.String(20), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("calculator_version", sa.String(100), nullable=False),
        sa.Column("computed_on", sa.Date, nullable=True),
        sa.Column("received_by", sa.String(200), nullable=False),
        utc_timestamp("received_at"),
    )
    op.create_table(
        "prediction_record",
        sa.Column("prediction_id", sa.String(36), primary_key=True),
        sa.Column("subject_id", sa.String(100), nullable=False, index=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("classification", sa.String(40), nullable=False),
        sa.Column("kelim_per_day", sa.Float, nullable=True),
        sa.Column("kelim_standardized", sa.Float, nullable=True),
        sa.Column("kelim_source", sa.String(40), nullable=True),
        sa.Column("model_version", sa.String(40), nullable=False),
        sa.Column("protocol_version", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        utc_timestamp("created_at"),
        sa.UniqueConstraint("subject_id", "version", name="uq_prediction_record_subject_version"),
    )


def downgrade() -> None:
    op.drop_table("prediction_record")
    op.drop_table("prediction_external_kelim")
    op.drop_table("prediction_ca125_measurement")
    with op.batch_alter_table("prediction_subject") as batch:
        batch.drop_column("chemotherapy_start_date")
