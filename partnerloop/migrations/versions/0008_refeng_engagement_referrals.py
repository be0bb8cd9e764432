"""engagement and referrals, finishing: goals in reviews, campaign bonuses, the friend's email

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import partnerloop.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("performance_reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goals", sa.JSON(), nullable=True))
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bonus", sa.JSON(), nullable=True))
        batch_op.alter_column("plan_id", existing_type=sa.String(length=26), nullable=True)
        batch_op.alter_column("rule", existing_type=sa.JSON(), nullable=True)
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("friend_email", sa.String(length=320), nullable=True))
    op.create_table(
        "campaign_bonus_awards",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("program_id", sa.String(length=26), nullable=False),
        sa.Column("campaign_id", sa.String(length=26), nullable=False),
        sa.Column("partner_id", sa.String(length=26), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("commission_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", partnerloop.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_campaign_bonus_awards_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_campaign_bonus_awards_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_campaign_bonus_awards_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_bonus_awards")),
        sa.UniqueConstraint("campaign_id", "partner_id", name=op.f("uq_campaign_bonus_awards_campaign_id_partner_id")),
    )
    with op.batch_alter_table("campaign_bonus_awards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_bonus_awards_program_id"), ["program_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_bonus_awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_bonus_awards_program_id"))
    op.drop_table("campaign_bonus_awards")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("friend_email")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("rule", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("plan_id", existing_type=sa.String(length=26), nullable=False)
        batch_op.drop_column("bonus")
    with op.batch_alter_table("performance_reviews", schema=None) as batch_op:
        batch_op.drop_column("goals")
