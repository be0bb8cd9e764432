"""notifications: notification_preferences (per program, address, kind) and dev_emails (kept without SMTP)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partnerloop.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_preferences",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("program_id", sa.String(length=26), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_notification_preferences_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_preferences")),
        sa.UniqueConstraint(
            "program_id", "email", "kind", name=op.f("uq_notification_preferences_program_id_email_kind")
        ),
    )
    op.create_index(
        op.f("ix_notification_preferences_program_id"), "notification_preferences", ["program_id"], unique=False
    )
    op.create_table(
        "dev_emails",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=998), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("created_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dev_emails")),
    )


def downgrade() -> None:
    op.drop_table("dev_emails")
    op.drop_index(op.f("ix_notification_preferences_program_id"), table_name="notification_preferences")
    op.drop_table("notification_preferences")
