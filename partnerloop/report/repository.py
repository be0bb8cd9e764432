"""All SQL of the reports, every query scoped by the program.

Clicks come from the daily click rollups (per link and UTC day, kept by the click writer), never from
raw clicks; conversions and commissions are grouped per UTC day and partner by the database
(`ix_events_program_window`), so a window costs one grouped scan of its events, not of its clicks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from partnerloop.models import (
    ClickRollup,
    Commission,
    Enrollment,
    Event,
    Group,
    Link,
    Partner,
    Program,
)
from partnerloop.report import clicks, cohorts, conversions, dimensions
from partnerloop.report.metrics import Figures
from partnerloop.report.rules import Window

_NOT_COUNTED = ("rejected",)

DayPartner = tuple[date, str]


def _day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL (SQLite stores naive UTC text)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _sale_value() -> Any:
    return func.coalesce(Event.program_amount, Event.amount, 0)


def _commission_moment() -> Any:
    return func.coalesce(Commission.occurred_at, Commission.created_at)


def group_partner_ids(program_id: str, group_id: str) -> Select[Any]:
    return select(Enrollment.partner_id).where(Enrollment.program_id == program_id, Enrollment.group_id == group_id)


def _only(statement: Any, column: Any, program_id: str, group_id: str | None, partner_id: str | None) -> Any:
    if group_id is not None:
        statement = statement.where(column.in_(group_partner_ids(program_id, group_id)))
    if partner_id is not None:
        statement = statement.where(column == partner_id)
    return statement


def _partner_filter(program_id: str, group_id: str | None, partner_id: str | None) -> Any:
    """A WHERE on a partner id column for a group or one partner; None for everyone."""
    if group_id is None and partner_id is None:
        return None

    def where(column: Any) -> Any:
        conditions = []
        if group_id is not None:
            conditions.append(column.in_(group_partner_ids(program_id, group_id)))
        if partner_id is not None:
            conditions.append(column == partner_id)
        return and_(*conditions)

    return where


_CLICK_COLUMNS = {"day": ClickRollup.day, "partner": ClickRollup.partner_id, "link": ClickRollup.link_id}


def figures_by(
    session: Session,
    program: Program,
    window: Window,
    dims: tuple[str, ...],
    *,
    group_id: str | None = None,
    partner_id: str | None = None,
) -> dict[tuple[Any, ...], Figures]:
    """The window's counts grouped by `dims` (of day, partner, link, source), summed by the database:
    clicks from the click rollups (a click's source is "link"), conversions from conversions.cells.
    Groups with nothing are absent."""
    found: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
    partners = _partner_filter(program.id, group_id, partner_id)
    if "link" in dims:
        clicked = _link_clicks(session, program, window, dims, group_id, partner_id)
    else:  # per day and partner, or per day for the program: summed once by the rollup job
        by = tuple(name for name in dims if name != "source")
        clicked = {}
        for key, figures in clicks.click_figures(session, program, window, by, partners).items():
            values = dict(zip(by, key, strict=True))
            clicked[tuple(values.get(name, "link") for name in dims)] = figures  # a click's source is "link"
    for key, figures in clicked.items():
        found[key] = found[key] + figures
    for key, figures in conversions.cells(session, program, window, partners, dims).items():
        found[key] = found[key] + figures
    return dict(found)


def _link_clicks(
    session: Session,
    program: Program,
    window: Window,
    dims: tuple[str, ...],
    group_id: str | None,
    partner_id: str | None,
) -> dict[tuple[Any, ...], Figures]:
    """Clicks grouped by dims that include the link: from the click rollups, one row per link and day."""
    found: dict[tuple[Any, ...], Figures] = defaultdict(Figures)
    columns = [_CLICK_COLUMNS[name] for name in dims if name != "source"]
    statement = _only(
        select(*columns, func.sum(ClickRollup.clicks), func.sum(ClickRollup.unique_clicks),
               func.sum(ClickRollup.bot_clicks))
        .where(ClickRollup.program_id == program.id, ClickRollup.day >= window.first_day,
               ClickRollup.day <= window.last_day)
        .group_by(*columns),
        ClickRollup.partner_id, program.id, group_id, partner_id,
    )  # fmt: skip
    for row in session.execute(statement):
        values = iter(row[: len(columns)])
        key = tuple("link" if name == "source" else _click_key(name, next(values)) for name in dims)
        total, unique, bots = (int(value or 0) for value in row[len(columns) :])
        if total or unique or bots:
            found[key] = found[key] + Figures(clicks=total, unique_clicks=unique, bot_clicks=bots)
    return found


def _click_key(name: str, value: Any) -> Any:
    return _as_date(value) if name == "day" else str(value)


def daily_partner_figures(
    session: Session,
    program: Program,
    window: Window,
    *,
    group_id: str | None = None,
    partner_id: str | None = None,
) -> dict[DayPartner, Figures]:
    """Each (UTC day, partner)'s counts in the window (days with nothing are absent)."""
    found = figures_by(session, program, window, ("day", "partner"), group_id=group_id, partner_id=partner_id)
    return {(key[0], key[1]): figures for key, figures in found.items()}


def partner_figures(
    session: Session, program: Program, window: Window, *, group_id: str | None = None, partner_id: str | None = None
) -> dict[str, Figures]:
    """Each partner's counts in the window (partners with nothing are absent)."""
    found = figures_by(session, program, window, ("partner",), group_id=group_id, partner_id=partner_id)
    return {key[0]: figures for key, figures in found.items()}


def day_figures(
    session: Session, program: Program, window: Window, *, group_id: str | None = None, partner_id: str | None = None
) -> dict[date, Figures]:
    """Each UTC day's counts over the partners asked for."""
    found = figures_by(session, program, window, ("day",), group_id=group_id, partner_id=partner_id)
    return {key[0]: figures for key, figures in found.items()}


def partner_names(session: Session, program_id: str) -> dict[str, tuple[str, str, str | None]]:
    """Every enrolled partner: (name, email, group id)."""
    rows = session.execute(
        select(Partner.id, Partner.name, Partner.email, Enrollment.group_id).join(
            Enrollment, and_(Enrollment.partner_id == Partner.id, Enrollment.program_id == program_id)
        )
    ).all()
    return {str(pid): (str(name), str(email), group) for pid, name, email, group in rows}


def group_exists(session: Session, program_id: str, group_id: str) -> bool:
    return (
        session.execute(select(Group.id).where(Group.program_id == program_id, Group.id == group_id)).first()
        is not None
    )


# --------------------------------------------------------------------------------------- channels


def link_figures(session: Session, program: Program, window: Window, group_id: str | None = None) -> dict[str, Figures]:
    """Each link's counts in the window: clicks from the rollups; conversions and commissions through
    the click they name (the event's own click, else the click its customer was attributed by)."""
    found = figures_by(session, program, window, ("link",), group_id=group_id)
    return {key[0]: figures for key, figures in found.items() if key[0]}


def links(session: Session, program_id: str) -> dict[str, Link]:
    return {link.id: link for link in session.execute(select(Link).where(Link.program_id == program_id)).scalars()}


def source_figures(
    session: Session, program: Program, window: Window, group_id: str | None = None
) -> dict[str, Figures]:
    """Conversions by how they were credited: `coupon` (a coupon code on the sale), `link` (a click),
    `referral_code` (neither: a referral code or an earlier attribution) or `other` (no event: manual)."""
    partners = _partner_filter(program.id, group_id, None)
    return {
        key[0]: figures for key, figures in conversions.cells(session, program, window, partners, ("source",)).items()
    }


def dimension_figures(
    session: Session, program: Program, window: Window, dimension: str, group_id: str | None = None
) -> dict[str, Figures]:
    """Clicks and conversions by device, country or referrer host."""
    return dimensions.dimension_figures(
        session, program, window, dimension, _partner_filter(program.id, group_id, None)
    )


def cohort_rows(
    session: Session, program: Program, window: Window, group_id: str | None = None
) -> list[dict[str, Any]]:
    """Customers by the month of their first sale and what each month's cohort paid since."""
    return cohorts.cohorts(session, program, window, _partner_filter(program.id, group_id, None))
