"""secrets at rest: the program's Stripe webhook secret and secret key are sealed (kit/sealing.py)

programs.stripe_webhook_secret and programs.stripe_secret_key (plain text) become
stripe_webhook_secret_encrypted and stripe_secret_key_encrypted (Fernet tokens); existing values are
encrypted on the way, with the keys of the settings that run the migration.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

from partnerloop.config import Settings, get_settings

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PLAIN_TO_SEALED = {
    "stripe_webhook_secret": "stripe_webhook_secret_encrypted",
    "stripe_secret_key": "stripe_secret_key_encrypted",
}
PLAIN_LENGTHS = {"stripe_webhook_secret": 200, "stripe_secret_key": 300}


def _settings() -> Settings:
    given: Settings | None = context.config.attributes.get("settings")
    return given or get_settings()


def _convert(source: list[str], target: list[str], change: str) -> None:
    """Copy every program's values from the `source` columns into the `target` ones, sealed or unsealed."""
    from partnerloop.kit.sealing import seal, unseal

    connection = op.get_bind()
    programs = sa.table("programs", sa.column("id", sa.String), *(sa.column(name, sa.Text) for name in source + target))
    present = sa.or_(*(programs.c[name].is_not(None) for name in source))
    rows = connection.execute(sa.select(programs.c.id, *(programs.c[name] for name in source)).where(present)).all()
    if not rows:
        return  # no key needed (a new database)
    settings = _settings()
    for row in rows:
        values: dict[str, str | None] = {}
        for name, into in zip(source, target, strict=True):
            value = row._mapping[name]
            if not value:
                values[into] = None
            else:
                values[into] = seal(settings, value) if change == "seal" else unseal(settings, value)
        connection.execute(sa.update(programs).where(programs.c.id == row.id).values(**values))


def upgrade() -> None:
    for sealed in PLAIN_TO_SEALED.values():
        op.add_column("programs", sa.Column(sealed, sa.Text(), nullable=True))
    _convert(list(PLAIN_TO_SEALED), list(PLAIN_TO_SEALED.values()), "seal")
    for plain in PLAIN_TO_SEALED:
        op.drop_column("programs", plain)  # SQLite 3.35+: ALTER TABLE DROP COLUMN, no table copy


def downgrade() -> None:
    for plain, length in PLAIN_LENGTHS.items():
        op.add_column("programs", sa.Column(plain, sa.String(length=length), nullable=True))
    _convert(list(PLAIN_TO_SEALED.values()), list(PLAIN_TO_SEALED), "unseal")
    for sealed in PLAIN_TO_SEALED.values():
        op.drop_column("programs", sealed)
