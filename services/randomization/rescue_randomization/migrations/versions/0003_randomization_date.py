"""The randomization date, in the trial's time zone, stored with each allocation.

It is the PFS start date: derived once, at allocation, from the allocation instant and
TRIAL_TIMEZONE (a subject randomized at 08:00 in Seoul is randomized that day, not the previous UTC
day). Existing rows are filled the same way.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _aware(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def upgrade() -> None:
    op.add_column("randomization_allocation",
                  sa.Column("randomization_date", sa.Date, nullable=True))
    zone = ZoneInfo(os.environ.get("TRIAL_TIMEZONE", "Asia/Seoul"))
    table = sa.table("randomization_allocation", sa.column("sequence", sa.Integer),
                     sa.column("allocated_at", sa.DateTime(timezone=True)),
                     sa.column("randomization_date", sa.Date))
    connection = op.get_bind()
    for sequence, allocated_at in connection.execute(
            sa.select(table.c.sequence, table.c.allocated_at)).all():
        connection.execute(table.update().where(table.c.sequence == sequence).values(
            randomization_date=_aware(allocated_at).astimezone(zone).date()))
    with op.batch_alter_table("randomization_allocation") as batch:
        batch.alter_column("randomization_date", existing_type=sa.Date, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("randomization_allocation") as batch:
        batch.drop_column("randomization_date")
