"""Clicks per (UTC day, partner) and per (UTC day, program): the click rollups summed once.

The click writer keeps `click_rollups`, one row per link and day (tracking/batch.py). A partners report
over 90 days of 2,000 links would sum 180,000 of them, a 2-year time series 1.5 million. `refresh` (the
`reports.refresh_rollups` job, every minute) sums them into `click_day_rollups`: one row per program,
day and partner, plus one per program and day (`partner_id` ""). Each run rebuilds the days from the
day of its previous run (minus `SAFETY`) to today: a click is added to the day it was made, and the
writer commits it within seconds, so older days do not change.

A read takes the days before the last build (minus `SAFETY`) from `click_day_rollups` and the rest
(today, and yesterday just after midnight) from `click_rollups`, so a click shows at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from partnerloop.models import ClickDayRollup, ClickRollup, Program, RollupState
from partnerloop.report.conversions import SAFETY
from partnerloop.report.metrics import Figures
from partnerloop.report.rules import Window

ROLLUP = "click_days"
PROGRAM = ""  # the partner_id of a program's own row per day
DIMENSIONS = ("day", "partner")

PartnerFilter = Callable[[Any], Any] | None


def fresh_from(session: Session) -> date | None:
    """The first day reads take from the click rollups themselves; None when nothing is built yet."""
    state = session.get(RollupState, ROLLUP)
    return None if state is None else (state.built_until - SAFETY).date()


def refresh(session: Session, now: datetime) -> int:
    """Rebuild the rows of the days since the previous run (every day the first time); returns how
    many (program, day, partner) rows were written."""
    state = session.get(RollupState, ROLLUP, with_for_update=True)
    first = None if state is None else (state.built_until - SAFETY).date()
    source = ClickRollup.__table__
    sums = (func.sum(source.c.clicks), func.sum(source.c.unique_clicks), func.sum(source.c.bot_clicks))
    by_partner = select(source.c.program_id, source.c.day, source.c.partner_id, *sums).group_by(
        source.c.program_id, source.c.day, source.c.partner_id
    )
    by_program = select(source.c.program_id, source.c.day, literal(PROGRAM), *sums).group_by(
        source.c.program_id, source.c.day
    )
    clear = delete(ClickDayRollup)
    if first is not None:
        by_partner = by_partner.where(source.c.day >= first)
        by_program = by_program.where(source.c.day >= first)
        clear = clear.where(ClickDayRollup.day >= first)
    session.execute(clear)
    columns = ["program_id", "day", "partner_id", "clicks", "unique_clicks", "bot_clicks"]
    for rows in (by_partner, by_program):
        session.execute(insert(ClickDayRollup).from_select(columns, rows))
    written = select(func.count()).select_from(ClickDayRollup)
    if first is not None:
        written = written.where(ClickDayRollup.day >= first)
    if state is None:
        session.add(RollupState(name=ROLLUP, built_until=now))
    else:
        state.built_until = now
    session.flush()
    return int(session.execute(written).scalar_one())


def _sum(
    session: Session,
    table: Any,
    program: Program,
    first: date,
    last: date,
    dims: tuple[str, ...],
    partner_filter: PartnerFilter,
    partner_rows: bool | None,
) -> list[tuple[tuple[Any, ...], int, int, int]]:
    """(key of `dims`, clicks, unique clicks, bot clicks) over first..last of one table."""
    columns = [table.day if name == "day" else table.partner_id for name in dims]
    statement = select(*columns, func.sum(table.clicks), func.sum(table.unique_clicks), func.sum(table.bot_clicks))
    statement = statement.where(table.program_id == program.id, table.day >= first, table.day <= last)
    if partner_rows is not None:
        statement = statement.where(table.partner_id != PROGRAM if partner_rows else table.partner_id == PROGRAM)
    if partner_filter is not None:
        statement = statement.where(partner_filter(table.partner_id))
    if columns:
        statement = statement.group_by(*columns)
    found = []
    for row in session.execute(statement):
        total, unique, bots = (int(value or 0) for value in row[len(columns) :])
        if total or unique or bots:
            key = tuple(
                _as_date(value) if name == "day" else str(value) for name, value in zip(dims, row, strict=False)
            )
            found.append((key, total, unique, bots))
    return found


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def click_figures(
    session: Session, program: Program, window: Window, dims: tuple[str, ...], partner_filter: PartnerFilter = None
) -> dict[tuple[Any, ...], Figures]:
    """The window's clicks (its whole UTC days) grouped by `dims` (of day, partner): the built days from
    `click_day_rollups` (the program's own rows when no partner is asked for), the rest from
    `click_rollups`."""
    assert set(dims) <= set(DIMENSIONS)
    first, last = window.first_day, window.last_day
    spans: list[tuple[Any, date, date, bool | None]] = []
    built = fresh_from(session)
    if built is None or built <= first:
        spans.append((ClickRollup, first, last, None))
    else:
        by_partner = "partner" in dims or partner_filter is not None
        spans.append((ClickDayRollup, first, min(last, built - timedelta(days=1)), by_partner))
        if built <= last:
            spans.append((ClickRollup, built, last, None))
    found: dict[tuple[Any, ...], Figures] = {}
    for table, start, end, partner_rows in spans:
        for key, total, unique, bots in _sum(session, table, program, start, end, dims, partner_filter, partner_rows):
            found[key] = found.get(key, Figures()) + Figures(clicks=total, unique_clicks=unique, bot_clicks=bots)
    return found
