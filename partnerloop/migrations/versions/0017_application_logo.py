"""the application page's logo: application_forms.logo_url (an image on the merchant's own host)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application_forms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logo_url", sa.String(length=2000), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("application_forms", schema=None) as batch_op:
        batch_op.drop_column("logo_url")
