"""click_day_rollups (clicks per program, day and partner, and per program and day); the program's own
row per day in conversion_rollups (rebuilt: the rollup state is reset, so the next run builds every day)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "click_day_rollups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("program_id", sa.String(length=26), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.String(length=26), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("unique_clicks", sa.BigInteger(), nullable=False),
        sa.Column("bot_clicks", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_click_day_rollups_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_day_rollups")),
        sa.UniqueConstraint(
            "program_id", "day", "partner_id", name=op.f("uq_click_day_rollups_program_id_day_partner_id")
        ),
    )
    with op.batch_alter_table("click_day_rollups", schema=None) as batch_op:
        batch_op.create_index("ix_click_day_rollups_program_partner_day", ["program_id", "partner_id", "day"])
    with op.batch_alter_table("conversion_rollups", schema=None) as batch_op:
        batch_op.create_index("ix_conversion_rollups_program_partner_day", ["program_id", "partner_id", "day"])
    # Rows built before have no program row per day: reports read the events until the job rebuilds all.
    op.execute("DELETE FROM rollup_state WHERE name = 'conversions'")
    op.execute("DELETE FROM conversion_rollups")


def downgrade() -> None:
    with op.batch_alter_table("conversion_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_conversion_rollups_program_partner_day")
    op.execute("DELETE FROM rollup_state WHERE name IN ('conversions', 'click_days')")
    op.execute("DELETE FROM conversion_rollups")
    with op.batch_alter_table("click_day_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_click_day_rollups_program_partner_day")
    op.drop_table("click_day_rollups")
