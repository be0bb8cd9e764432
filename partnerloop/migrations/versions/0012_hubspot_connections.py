"""HubSpot CRM on the event outbox: hubspot_connections

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partnerloop.models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hubspot_connections",
        sa.Column("program_id", sa.String(length=26), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("token_hint", sa.String(length=40), nullable=False),
        sa.Column("last_synced_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_hubspot_connections_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_hubspot_connections")),
    )


def downgrade() -> None:
    op.drop_table("hubspot_connections")
