"""card fingerprints: stripe_cards_seen (hashed Stripe card fingerprints and who paid with them)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partnerloop.models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stripe_cards_seen",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("program_id", sa.String(length=26), nullable=False),
        sa.Column("fingerprint_hash", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=210), nullable=False),
        sa.Column("customer_external_id", sa.String(length=200), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("payment_ref", sa.String(length=255), nullable=True),
        sa.Column("seen_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_stripe_cards_seen_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_cards_seen")),
        sa.UniqueConstraint(
            "program_id",
            "fingerprint_hash",
            "holder",
            name=op.f("uq_stripe_cards_seen_program_id_fingerprint_hash_holder"),
        ),
    )
    op.create_index("ix_stripe_cards_seen_customer", "stripe_cards_seen", ["program_id", "customer_external_id"])
    op.create_index("ix_stripe_cards_seen_email", "stripe_cards_seen", ["program_id", "email_hash"])


def downgrade() -> None:
    op.drop_index("ix_stripe_cards_seen_email", table_name="stripe_cards_seen")
    op.drop_index("ix_stripe_cards_seen_customer", table_name="stripe_cards_seen")
    op.drop_table("stripe_cards_seen")
