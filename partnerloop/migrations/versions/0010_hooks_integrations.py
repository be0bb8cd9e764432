"""integrations on the event outbox: slack_connections

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partnerloop.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_connections",
        sa.Column("program_id", sa.String(length=26), nullable=False),
        sa.Column("webhook_url_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_url_hint", sa.String(length=40), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("sale_min_amount", sa.BigInteger(), nullable=False),
        sa.Column("last_posted_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_slack_connections_program_id_programs")),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_slack_connections")),
    )


def downgrade() -> None:
    op.drop_table("slack_connections")
