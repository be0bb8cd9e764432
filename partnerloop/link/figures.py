"""What the dashboard reads of clicks: recorded clicks of the program's links from the daily rollups,
on the days [first_day, last_day] (None leaves that side open)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from partnerloop.link import repository
from partnerloop.models import Link


def clicks(
    session: Session,
    program_id: str,
    first_day: date | None = None,
    last_day: date | None = None,
    partner_id: str | None = None,
) -> int:
    """All recorded clicks on those days, of everyone or of `partner_id`."""
    return repository.click_sum(session, program_id, first_day, last_day, partner_id)


def partner_links(session: Session, program_id: str, partner_id: str) -> list[tuple[Link, int]]:
    """The partner's live links, newest first, with their recorded clicks."""
    return repository.partner_links(session, program_id, partner_id)
