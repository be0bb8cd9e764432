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
from partnerloop.models import FxRate, Program

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


def insert_missing_rates(
    session: Session, program_ids: list[str], rows: list[dict[str, Any]], source: str
) -> list[str]:
    """Insert each (base, quote, day) rate for each program where that program has none (a rate someone
    set stands); returns the programs that got at least one new rate."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utc_now()
    changed: list[str] = []
    for program_id in program_ids:
        values = [
            {"id": new_id(), "program_id": program_id, "source": source, "created_at": now, "updated_at": now, **row}
            for row in rows
        ]
        statement = (
            insert(FxRate).values(values).on_conflict_do_nothing(index_elements=["program_id", "base", "quote", "day"])
        )
        # Without preserve_rowcount, SQLAlchemy 2.1 reports -1 for an INSERT on PostgreSQL (psycopg).
        result = session.execute(statement.execution_options(preserve_rowcount=True))
        if result.rowcount:  # type: ignore[attr-defined]
            changed.append(program_id)
    return changed


def all_program_ids(session: Session) -> list[str]:
    """Every program (installation-wide rates are kept per program, like the ones a program sets)."""
    return list(session.execute(select(Program.id).order_by(Program.id)).scalars())


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
