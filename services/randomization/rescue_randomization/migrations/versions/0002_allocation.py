"""Eligibility state of candidates, predictions, trial set-up, allocations and the audit chain.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from rescue_shared.db.migrations import utc_timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64  # frozen copy of domain.audit_chain.GENESIS_HASH


def upgrade() -> None:
    for column in (
        sa.Column("screening_date", sa.Date, nullable=True),
        sa.Column("protocol_version", sa.String(20), nullable=True),
        sa.Column("clinical_facts", sa.JSON, nullable=True),
        sa.Column("failed_criteria", sa.JSON, nullable=True),
        sa.Column("missing_facts", sa.JSON, nullable=True),
        sa.Column("eligibility_status", sa.String(20), nullable=False, server_default="pending"),
        sa.Column("eligibility_reason", sa.Text, nullable=True),
        utc_timestamp("eligibility_decided_at", nullable=True),
    ):
        op.add_column("randomization_candidate", column)
    op.create_table(
        "randomization_prediction",
        sa.Column("subject_id", sa.String(100), primary_key=True),
        sa.Column("site_id", sa.String(100), nullable=False),
        sa.Column("prediction_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("classification", sa.String(40), nullable=False),
        utc_timestamp("received_at"),
    )
    op.create_table(
        "randomization_trial",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("protocol_version", sa.String(20), nullable=False),
        sa.Column("number_prefix", sa.String(20), nullable=False),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("seed_hex", sa.String(128), nullable=False),
        sa.Column("seed_sha256", sa.String(64), nullable=False),
        sa.Column("allocations", sa.Integer, nullable=False),
        utc_timestamp("set_up_at"),
        sa.Column("set_up_by", sa.String(200), nullable=False),
        utc_timestamp("configured_at"),
        utc_timestamp("locked_at", nullable=True),
        sa.Column("locked_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "randomization_stratum",
        sa.Column("stratum_key", sa.String(400), primary_key=True),
        sa.Column("levels", sa.JSON, nullable=False),
        sa.Column("next_slot", sa.Integer, nullable=False),
        sa.Column("scs_chemo", sa.Integer, nullable=False),
        sa.Column("chemo", sa.Integer, nullable=False),
    )
    op.create_table(
        "randomization_allocation",
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("randomization_number", sa.String(40), nullable=False, unique=True),
        sa.Column("subject_id", sa.String(100), nullable=False, unique=True),
        sa.Column("site_id", sa.String(100), nullable=False, index=True),
        sa.Column("stratum_key", sa.String(400), nullable=False),
        sa.Column("stratum", sa.JSON, nullable=False),
        sa.Column("slot_index", sa.Integer, nullable=False),
        sa.Column("arm", sa.String(20), nullable=False),
        sa.Column("scheme", sa.String(40), nullable=False),
        sa.Column("protocol_version", sa.String(20), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("planned_maintenance", sa.String(50), nullable=True),
        sa.Column("consent_confirmed", sa.Boolean, nullable=False),
        utc_timestamp("allocated_at"),
        sa.Column("allocated_by", sa.String(200), nullable=False),
        utc_timestamp("invalidated_at", nullable=True),
        sa.Column("invalidated_by", sa.String(200), nullable=True),
        sa.Column("invalidation_reason", sa.Text, nullable=True),
        sa.UniqueConstraint("stratum_key", "slot_index", name="uq_randomization_allocation_slot"),
    )
    head = op.create_table(
        "randomization_audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "entries": 0, "hash": GENESIS_HASH}])
    op.create_table(
        "randomization_audit_entry",
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("entry_type", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_roles", sa.JSON, nullable=False),
        sa.Column("site_id", sa.String(100), nullable=True),
        sa.Column("subject_id", sa.String(100), nullable=True, index=True),
        utc_timestamp("recorded_at"),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    for table in ("randomization_audit_entry", "randomization_audit_head",
                  "randomization_allocation", "randomization_stratum", "randomization_trial",
                  "randomization_prediction"):
        op.drop_table(table)
    with op.batch_alter_table("randomization_candidate") as batch:
        for name in ("eligibility_decided_at", "eligibility_reason", "eligibility_status",
                     "missing_facts", "failed_criteria", "clinical_facts", "protocol_version",
                     "screening_date"):
            batch.drop_column(name)
