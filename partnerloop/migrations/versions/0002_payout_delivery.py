"""payouts.delivery: api | csv, decided at the run

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery", sa.String(length=8), nullable=False, server_default="csv"))
    # Payouts made before: those of an API method were (or are being) sent by API.
    op.execute("UPDATE payouts SET delivery = 'api' WHERE method IN ('paypal', 'stripe_connect')")


def downgrade() -> None:
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_column("delivery")
