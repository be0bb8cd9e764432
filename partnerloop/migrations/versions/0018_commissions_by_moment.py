"""the commissions list's order and windows by when a commission happened: an index on
(program_id, coalesce(occurred_at, created_at), id)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 21:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_commissions_program_moment",
        "commissions",
        ["program_id", sa.text("coalesce(occurred_at, created_at)"), "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_commissions_program_moment", table_name="commissions")
