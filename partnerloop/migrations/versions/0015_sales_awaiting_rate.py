"""sales awaiting a rate: events.awaiting_rate (a sale recorded before its currency had a rate)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("awaiting_rate", sa.Boolean(), nullable=False, server_default=sa.text("false")))
        batch_op.create_index("ix_events_awaiting_rate", ["awaiting_rate", "program_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_awaiting_rate")
        batch_op.drop_column("awaiting_rate")
