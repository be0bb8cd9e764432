"""64-bit money and count columns: every amount, threshold and counter that can pass 2^31 is BIGINT

On PostgreSQL these were INTEGER (32-bit): a minimum payout of 21,474,836.48 USD, a campaign bonus or tier
threshold beyond 2^31, or a link's 2^31st click was a 500. SQLite's INTEGER is already 64-bit, so only
PostgreSQL is altered (widening keeps every value; no rewrite of the data is needed beyond the type).

Revision ID: 0016
Revises: 0014 (0015, the ECB rates, was not visible when this was written: the merger re-chains it)
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WIDENED: dict[str, tuple[str, ...]] = {
    "programs": ("min_payout_amount",),
    "campaign_bonus_awards": ("amount", "value"),
    "tier_moves": ("threshold", "value"),
    "click_rollups": ("clicks", "bot_clicks", "unique_clicks"),
    "click_dimension_rollups": ("clicks", "unique_clicks", "bot_clicks"),
    "conversion_rollups": ("leads", "sales", "new_customers"),
    "payouts": ("commission_count",),
    "referrals": ("sales_count",),
    "announcements": ("recipients",),
    "alerts": ("occurrences",),
}


def _alter(to_type: type[sa.types.TypeEngine[int]]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in WIDENED.items():
        for column in columns:
            op.alter_column(table, column, type_=to_type(), existing_nullable=False)


def upgrade() -> None:
    _alter(sa.BigInteger)


def downgrade() -> None:
    _alter(sa.Integer)
