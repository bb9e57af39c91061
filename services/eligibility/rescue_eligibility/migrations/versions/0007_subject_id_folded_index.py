"""An index on the case-folded subject id: every screening looks for a case twin of its subject
id (`S01-0001` beside `s01-0001`), which without it reads every subject.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_eligibility_subject_folded_id", "eligibility_subject",
                    [sa.text("lower(subject_id)")])


def downgrade() -> None:
    op.drop_index("ix_eligibility_subject_folded_id", table_name="eligibility_subject")
