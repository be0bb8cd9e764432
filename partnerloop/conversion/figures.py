"""What the dashboard reads of conversions: partner-credited leads, sales and revenue in the program's
currency (a converted sale counts at its program_amount), and a partner's customers.

A window is [since, before); None on either side leaves it open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.conversion import repository
from partnerloop.models import Customer


@dataclass(frozen=True)
class RecentEvent:
    at: datetime
    kind: str  # lead | sale | refund
    amount: int | None
    currency: str | None
    partner_id: str | None


def recent_events(session: Session, program_id: str, limit: int) -> list[RecentEvent]:
    """The program's latest events, newest first."""
    return [RecentEvent(*row) for row in repository.recent_events(session, program_id, limit)]


def partner_customers(session: Session, program_id: str, partner_id: str, limit: int = 50) -> list[Customer]:
    """The customers credited to the partner, newest first."""
    return repository.partner_customers(session, program_id, partner_id, limit)


def has_events(session: Session, program_id: str) -> bool:
    """Whether the program has recorded any lead, sale or refund."""
    return repository.has_events(session, program_id)
