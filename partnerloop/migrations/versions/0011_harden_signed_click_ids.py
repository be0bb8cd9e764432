"""signed click ids: clicks.id and the columns naming a click widen to 64 characters

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# (table, column): clicks.id and every column that names a click (rollup_state.position: the last click
# taken into the channel rollups). Click commissions keep 26-character ids: the click's ULID.
_COLUMNS = (
    ("clicks", "id"), ("customers", "click_id"), ("events", "click_id"), ("commissions", "click_id"),
    ("rollup_state", "position"),
)  # fmt: skip


def _sqlite_declared_length(length_from: int, length_to: int) -> None:
    """SQLite keeps a column's declared type as text and never enforces its length; VARCHAR(26) and (64) have
    the same (TEXT) affinity, so only the declaration changes. Recreating the tables (batch mode) would copy
    every click and trip the foreign keys that name clicks (they cannot be switched off in a transaction); the
    SQLite documentation's procedure for changes that leave stored data alone edits the schema text instead
    (https://www.sqlite.org/lang_altertable.html, "making other kinds of table schema changes")."""
    bind = op.get_bind()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    for table, column in _COLUMNS:
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:n"), {"n": table})
        pattern = re.compile(rf'^(\s*"?{column}"?\s+)VARCHAR\({length_from}\)', re.MULTILINE)
        changed, count = pattern.subn(rf"\g<1>VARCHAR({length_to})", sql.scalar_one(), 1)
        if count != 1:
            raise RuntimeError(f"{table}.{column}: no VARCHAR({length_from}) declaration to widen")
        bind.execute(
            sa.text("UPDATE sqlite_master SET sql=:s WHERE type='table' AND name=:n"), {"s": changed, "n": table}
        )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def _widen(length_from: int, length_to: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declared_length(length_from, length_to)
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, existing_type=sa.String(length=length_from), type_=sa.String(length=length_to))


def upgrade() -> None:
    _widen(26, 64)


def downgrade() -> None:
    # Signed ids do not fit in 26 characters: going down drops them from where they are named first.
    bind = op.get_bind()
    for table in ("customers", "commissions", "events"):
        bind.execute(sa.text(f"UPDATE {table} SET click_id = NULL WHERE length(click_id) > 26"))
    bind.execute(sa.text("UPDATE rollup_state SET position = substr(position, 1, 26)"))
    bind.execute(sa.text("DELETE FROM clicks WHERE length(id) > 26"))
    _widen(64, 26)
