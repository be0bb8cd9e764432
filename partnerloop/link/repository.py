"""Links and their click counts, scoped by program."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from partnerloop.models import Click, ClickRollup, Link, Partner


def get_live(session: Session, program_id: str, link_id: str) -> Link | None:
    return session.execute(
        select(Link).where(Link.id == link_id, Link.program_id == program_id, Link.deleted_at.is_(None))
    ).scalar_one_or_none()


def key_taken(session: Session, key: str) -> bool:
    return session.execute(select(Link.id).where(Link.key == key)).first() is not None


def click_counts(session: Session, link_ids: list[str]) -> dict[str, int]:
    """Every recorded click per link (the rollups are written with the clicks, in one transaction)."""
    return {link_id: clicks for link_id, (clicks, _unique) in click_totals(session, link_ids).items()}


def click_totals(session: Session, link_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(every recorded click, unique clicks) per link, from the daily rollups."""
    if not link_ids:
        return {}
    rows = session.execute(
        select(ClickRollup.link_id, func.sum(ClickRollup.clicks), func.sum(ClickRollup.unique_clicks))
        .where(ClickRollup.link_id.in_(link_ids))
        .group_by(ClickRollup.link_id)
    ).all()
    return {link_id: (int(total or 0), int(unique or 0)) for link_id, total, unique in rows}


def _rollups(program_id: str, first_day: date | None, last_day: date | None) -> list[Any]:
    where = [ClickRollup.program_id == program_id]
    if first_day is not None:
        where.append(ClickRollup.day >= first_day)
    if last_day is not None:
        where.append(ClickRollup.day <= last_day)
    return where


def click_sum(
    session: Session, program_id: str, first_day: date | None, last_day: date | None, partner_id: str | None
) -> int:
    """Recorded clicks of the program's links on the days [first_day, last_day]."""
    statement = select(func.coalesce(func.sum(ClickRollup.clicks), 0)).where(*_rollups(program_id, first_day, last_day))
    if partner_id is not None:
        statement = statement.where(ClickRollup.partner_id == partner_id)
    return int(session.execute(statement).scalar_one())


def partner_links(session: Session, program_id: str, partner_id: str) -> list[tuple[Link, int]]:
    """The partner's live links, newest first, with their recorded clicks."""
    clicks = func.coalesce(func.sum(ClickRollup.clicks), 0)
    rows = session.execute(
        select(Link, clicks)
        .outerjoin(ClickRollup, ClickRollup.link_id == Link.id)
        .where(Link.program_id == program_id, Link.partner_id == partner_id, Link.deleted_at.is_(None))
        .group_by(Link.id)
        .order_by(Link.created_at.desc())
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def search(
    session: Session, program_id: str, *, text: str, partner_id: str, offset: int, limit: int
) -> tuple[list[tuple[Link, str, str]], int]:
    """Live links with their partner's name and email, newest first, matching `text` in the key, the
    destination or the partner's name or email; and how many match."""
    where = [Link.program_id == program_id, Link.deleted_at.is_(None)]
    if partner_id:
        where.append(Link.partner_id == partner_id)
    if text:
        pattern = f"%{text.lower()}%"
        where.append(
            or_(
                func.lower(Link.key).like(pattern),
                func.lower(Link.destination_url).like(pattern),
                func.lower(Partner.name).like(pattern),
                func.lower(Partner.email).like(pattern),
            )
        )
    joined = select(Link, Partner.name, Partner.email).join(Partner, Partner.id == Link.partner_id).where(*where)
    total = session.execute(select(func.count()).select_from(joined.subquery())).scalar_one()
    rows = session.execute(joined.order_by(Link.id.desc()).offset(offset).limit(limit)).all()
    return [(link, name, email) for link, name, email in rows], int(total)


def link_clicks_by_day(session: Session, link_id: str, since: date) -> list[tuple[date, int]]:
    rows = session.execute(
        select(ClickRollup.day, func.sum(ClickRollup.clicks))
        .where(ClickRollup.link_id == link_id, ClickRollup.day >= since)
        .group_by(ClickRollup.day)
    ).all()
    return [(day, int(clicks or 0)) for day, clicks in rows]


def clicks_by(session: Session, link_id: str, column: str, since: datetime, limit: int) -> list[tuple[str | None, int]]:
    """Human clicks of the link since then, counted by a click column (country, device, referrer), most first."""
    field = {"country": Click.country, "device": Click.device, "referrer": Click.referrer}[column]
    rows = session.execute(
        select(field, func.count())
        .where(Click.link_id == link_id, Click.created_at >= since, Click.is_bot.is_(False))
        .group_by(field)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [(value, int(count)) for value, count in rows]
