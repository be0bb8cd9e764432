"""Exchange rates, always through the program's scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from partnerloop.kit.ids import new_id
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.kit.time import utc_now
from partnerloop.models import FxRate

BATCH = 1000


def upsert_rates(session: Session, program_id: str, rows: list[dict[str, Any]], source: str) -> None:
    """Insert each (base, quote, day) rate, replacing the rate of one that exists."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utc_now()
    for start in range(0, len(rows), BATCH):
        values = [
            {"id": new_id(), "program_id": program_id, "source": source, "created_at": now, "updated_at": now, **row}
            for row in rows[start : start + BATCH]
        ]
        statement = insert(FxRate).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=["program_id", "base", "quote", "day"],
            set_={"rate": statement.excluded.rate, "source": statement.excluded.source, "updated_at": now},
        )
        session.execute(statement)


def get_rate(session: Session, program_id: str, base: str, quote: str, day: date) -> FxRate | None:
    return session.execute(
        select(FxRate).where(
            FxRate.program_id == program_id, FxRate.base == base, FxRate.quote == quote, FxRate.day == day
        )
    ).scalar_one_or_none()


def latest_rate(session: Session, program_id: str, base: str, quote: str, on: date) -> FxRate | None:
    """The pair's rate of the latest day on or before `on`."""
    return session.execute(
        select(FxRate)
        .where(FxRate.program_id == program_id, FxRate.base == base, FxRate.quote == quote, FxRate.day <= on)
        .order_by(FxRate.day.desc())
        .limit(1)
    ).scalar_one_or_none()


def list_rates(
    session: Session, program_id: str, *, base: str | None, quote: str | None, cursor: str | None, limit: int
) -> tuple[list[FxRate], str | None]:
    statement = select(FxRate).where(FxRate.program_id == program_id)
    if base:
        statement = statement.where(FxRate.base == base)
    if quote:
        statement = statement.where(FxRate.quote == quote)
    rows = list(session.execute(paginate(statement, FxRate.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda rate: rate.id)
