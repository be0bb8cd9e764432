"""The dashboard's own table: the managers' notes on partners. Every other figure a page shows comes from
the domain that owns it (see `manage/figures.py`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.models import PartnerNote, User


def partner_notes(session: Session, program_id: str, partner_id: str) -> list[tuple[PartnerNote, str | None]]:
    """The notes on a partner, newest first, each with its author's email (None once the user is gone)."""
    rows = session.execute(
        select(PartnerNote, User.email)
        .outerjoin(User, User.id == PartnerNote.author_user_id)
        .where(PartnerNote.program_id == program_id, PartnerNote.partner_id == partner_id)
        .order_by(PartnerNote.created_at.desc())
    ).all()
    return [(row[0], row[1]) for row in rows]
