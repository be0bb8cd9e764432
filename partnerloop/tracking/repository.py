"""All SQL of the redirect path: what the link cache loads, and the batched writes of clicks and rollups.

The link cache is keyed by the globally unique link key, so its reads span programs by design; every
row read carries its program id and every click written carries the program of its link.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Select, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from partnerloop.models import Click, ClickRollup, Link, Program

CLICK_COLUMNS = (
    "id", "program_id", "link_id", "partner_id", "created_at", "ip_truncated", "user_agent",
    "browser", "os", "device", "is_bot", "referrer", "country",
)  # fmt: skip
UNIQUE_COLUMNS = ("is_unique", "visitor")
# What the flusher decides per click beside its ClickRow: (is_unique, visitor).
UniqueFacts = tuple[bool, str | None]
# One click as written, in CLICK_COLUMNS order; created_at is UTC text 'YYYY-MM-DD HH:MM:SS.ffffff', the form
# SQLAlchemy keeps in SQLite (so reads and comparisons agree) and PostgreSQL parses (with '+00' appended).
ClickRow = tuple[str, str, str, str, str, str | None, str | None, str | None, str | None, str, bool,
                 str | None, str | None]  # fmt: skip
_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A link with what the redirect needs from its program."""

    key: str
    link_id: str
    program_id: str
    partner_id: str
    destination_url: str
    deleted: bool
    cookie_days: int
    allowed_domains: list[str]
    link_updated_at: datetime
    program_updated_at: datetime
    utm: dict[str, Any] | None = None
    expires_at: datetime | None = None
    fallback_url: str | None = None
    program_fallback_url: str | None = None


@dataclass(frozen=True, slots=True)
class ProgramRow:
    """What the link cache keeps of a program: its link domains and the fallback for unknown keys."""

    program_id: str
    updated_at: datetime
    link_domains: list[str]
    fallback_url: str | None
    allowed_domains: list[str]


@dataclass(frozen=True, slots=True)
class RollupIncrement:
    program_id: str
    link_id: str
    partner_id: str
    day: date
    clicks: int
    bot_clicks: int
    unique_clicks: int = 0


def _link_rows() -> Select[Any]:
    return select(
        Link.key, Link.id, Link.program_id, Link.partner_id, Link.destination_url, Link.deleted_at,
        Program.cookie_days, Program.allowed_domains, Link.updated_at, Program.updated_at,
        Link.utm, Link.expires_at, Link.fallback_url, Program.fallback_url,
    ).join(Program, Program.id == Link.program_id)  # fmt: skip


def _to_link_rows(rows: Iterable[Any]) -> list[LinkRow]:
    return [
        LinkRow(
            key=row[0],
            link_id=row[1],
            program_id=row[2],
            partner_id=row[3],
            destination_url=row[4],
            deleted=row[5] is not None,
            cookie_days=int(row[6]),
            allowed_domains=list(row[7] or []),
            link_updated_at=row[8],
            program_updated_at=row[9],
            utm=row[10] if isinstance(row[10], dict) else None,
            expires_at=row[11],
            fallback_url=row[12],
            program_fallback_url=row[13],
        )
        for row in rows
    ]


def live_links(connection: Connection) -> list[LinkRow]:
    """Every link that is not deleted, with its program's cookie window and allowed domains."""
    return _to_link_rows(connection.execute(_link_rows().where(Link.deleted_at.is_(None))))


def links_changed_since(connection: Connection, since: datetime) -> list[LinkRow]:
    """Links (deleted ones included) whose updated_at is after `since`."""
    return _to_link_rows(connection.execute(_link_rows().where(Link.updated_at > since)))


def _program_rows() -> Select[Any]:
    return select(Program.id, Program.updated_at, Program.link_domains, Program.fallback_url, Program.allowed_domains)


def _to_program_rows(rows: Iterable[Any]) -> list[ProgramRow]:
    return [
        ProgramRow(program_id=row[0], updated_at=row[1], link_domains=list(row[2] or []), fallback_url=row[3],
                   allowed_domains=list(row[4] or []))
        for row in rows
    ]  # fmt: skip


def programs_changed_since(connection: Connection, since: datetime) -> list[ProgramRow]:
    """The programs changed after `since`."""
    return _to_program_rows(connection.execute(_program_rows().where(Program.updated_at > since)))


def all_programs(connection: Connection) -> list[ProgramRow]:
    return _to_program_rows(connection.execute(_program_rows()))


def live_links_of_programs(connection: Connection, program_ids: Sequence[str]) -> list[LinkRow]:
    rows: list[LinkRow] = []
    for start in range(0, len(program_ids), _ID_CHUNK):
        chunk = list(program_ids[start : start + _ID_CHUNK])
        rows += _to_link_rows(
            connection.execute(_link_rows().where(Link.program_id.in_(chunk), Link.deleted_at.is_(None)))
        )
    return rows


def link_by_key(connection: Connection, key: str) -> LinkRow | None:
    rows = _to_link_rows(connection.execute(_link_rows().where(Link.key == key)))
    return rows[0] if rows else None


def existing_click_ids(connection: Connection, click_ids: Sequence[str]) -> set[str]:
    """The ids among `click_ids` that are stored already (after a write whose outcome is unknown)."""
    found: set[str] = set()
    for start in range(0, len(click_ids), _ID_CHUNK):
        chunk = list(click_ids[start : start + _ID_CHUNK])
        found.update(connection.execute(select(Click.id).where(Click.id.in_(chunk))).scalars())
    return found


def insert_clicks(
    connection: Connection, rows: Sequence[ClickRow], uniques: Sequence[UniqueFacts] | None = None
) -> None:
    """Insert the clicks: COPY on PostgreSQL; on SQLite the multi-row INSERTs of sqlite_click_inserts."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        names, values = _click_values(rows, uniques)
        driver_connection: Any = connection.connection.driver_connection
        with driver_connection.cursor() as cursor, cursor.copy(f"COPY clicks ({', '.join(names)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row((*row[:4], row[4] + "+00", *row[5:]))
        return
    for statement, parameters in sqlite_click_inserts(rows, uniques, sqlite_variable_limit(connection)):
        connection.exec_driver_sql(statement, parameters)


def sqlite_variable_limit(connection: Connection) -> int:
    """How many ? a SQLite statement may hold on this connection (32,766 by default since SQLite 3.32)."""
    return int(connection.connection.driver_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))  # type: ignore[union-attr]


SQLITE_ROWS_PER_INSERT = 2000  # x 15 columns: under SQLite's default limit of 32,766 variables


def sqlite_click_inserts(
    rows: Sequence[ClickRow], uniques: Sequence[UniqueFacts] | None, variable_limit: int
) -> list[tuple[str, tuple[Any, ...]]]:
    """(statement, parameters) of multi-row INSERTs for the clicks on SQLite: SQLite does the work in a few
    calls that release the GIL, where executemany takes the GIL back after every row."""
    names, values = _click_values(rows, uniques)
    columns = ", ".join(names)
    per_statement = max(1, min(SQLITE_ROWS_PER_INSERT, variable_limit // len(names)))
    one_row = "(" + ", ".join("?" for _ in names) + ")"
    statements: list[tuple[str, tuple[Any, ...]]] = []
    start = 0
    while start < len(values):
        # Full statements, then the rest in powers of two: few distinct statements for sqlite3's statement
        # cache to keep compiled (a cached 2,000-row INSERT holds megabytes).
        size = min(per_statement, 1 << ((len(values) - start).bit_length() - 1))
        chunk = values[start : start + size]
        statement = f"INSERT INTO clicks ({columns}) VALUES " + ", ".join(one_row for _ in chunk)
        statements.append((statement, tuple(chain.from_iterable(chunk))))
        start += size
    return statements


def _click_values(
    rows: Sequence[ClickRow], uniques: Sequence[UniqueFacts] | None
) -> tuple[tuple[str, ...], Sequence[tuple[Any, ...]]]:
    if uniques is None:
        return CLICK_COLUMNS, rows
    return CLICK_COLUMNS + UNIQUE_COLUMNS, [row + facts for row, facts in zip(rows, uniques, strict=True)]


def add_to_rollups(connection: Connection, increments: Sequence[RollupIncrement]) -> None:
    """Add each increment to its (link, day) rollup row, creating the row when it is the day's first."""
    if not increments:
        return
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ClickRollup)
    statement = statement.on_conflict_do_update(
        index_elements=[ClickRollup.link_id, ClickRollup.day],
        set_={
            "clicks": ClickRollup.clicks + statement.excluded.clicks,
            "bot_clicks": ClickRollup.bot_clicks + statement.excluded.bot_clicks,
            "unique_clicks": ClickRollup.unique_clicks + statement.excluded.unique_clicks,
        },
    )
    connection.execute(
        statement,
        [
            {"program_id": item.program_id, "link_id": item.link_id, "partner_id": item.partner_id, "day": item.day,
             "clicks": item.clicks, "bot_clicks": item.bot_clicks, "unique_clicks": item.unique_clicks}
            for item in increments
        ],
    )  # fmt: skip


def last_visits(
    connection: Connection, pairs: Sequence[tuple[str, str]], since: datetime
) -> dict[tuple[str, str], datetime]:
    """The latest click after `since` of each (link id, visitor) pair, for the pairs that have one (clicks
    an earlier or another process wrote; the flusher remembers its own)."""
    found: dict[tuple[str, str], datetime] = {}
    wanted = set(pairs)
    visitors = sorted({visitor for _, visitor in pairs})
    for start in range(0, len(visitors), _ID_CHUNK):
        chunk = visitors[start : start + _ID_CHUNK]
        rows = connection.execute(
            select(Click.link_id, Click.visitor, func.max(Click.created_at))
            .where(Click.visitor.in_(chunk), Click.created_at > since)
            .group_by(Click.link_id, Click.visitor)
        )
        for link_id, visitor, at in rows:
            if visitor is not None and (link_id, visitor) in wanted and at is not None:
                found[(link_id, visitor)] = at
    return found


def clicks_by_id(connection: Connection, click_ids: Sequence[str]) -> dict[str, tuple[str, datetime]]:
    """(link id, created_at) of the stored clicks among `click_ids` (the pl_cid cookies sent back)."""
    found: dict[str, tuple[str, datetime]] = {}
    ids = sorted(set(click_ids))
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start : start + _ID_CHUNK]
        for click_id, link_id, at in connection.execute(
            select(Click.id, Click.link_id, Click.created_at).where(Click.id.in_(chunk))
        ):
            found[click_id] = (link_id, at)
    return found


def link_owner(connection: Connection, link_id: str) -> tuple[str, str] | None:
    """(program id, partner id) of a link, deleted or not (a click made before the deletion still counts)."""
    row = connection.execute(select(Link.program_id, Link.partner_id).where(Link.id == link_id)).first()
    return None if row is None else (row[0], row[1])


def insert_click_if_new(connection: Connection, row: ClickRow, facts: UniqueFacts) -> bool:
    """Insert one click unless its id is stored already (the buffer, or a concurrent request, wrote it
    first); True when this call inserted it."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    values: dict[str, object] = dict(zip(CLICK_COLUMNS + UNIQUE_COLUMNS, row + facts, strict=True))
    values["created_at"] = datetime.fromisoformat(row[4]).replace(tzinfo=UTC)
    statement = insert(Click).values(values).on_conflict_do_nothing(index_elements=[Click.id])
    return connection.execute(statement.returning(Click.id)).first() is not None
