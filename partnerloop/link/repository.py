"""Links and their click counts, scoped by program."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.models import ClickRollup, Link


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
