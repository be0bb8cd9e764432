"""What the dashboard reads of conversions: partner-credited leads, sales and revenue in the program's
currency (a converted sale counts at its program_amount), and a partner's customers.

A window is [since, before); None on either side leaves it open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from partnerloop.conversion import repository
from partnerloop.models import Customer


@dataclass(frozen=True)
class EventTotals:
    leads: int
    sales: int
    revenue: int  # sales less refunds


@dataclass(frozen=True)
class PartnerRevenue:
    sales: int
    revenue: int  # sales less refunds


@dataclass(frozen=True)
class RecentEvent:
    at: datetime
    kind: str  # lead | sale | refund
    amount: int | None
    currency: str | None
    partner_id: str | None


def totals(
    session: Session, program_id: str, since: datetime | None, before: datetime | None, partner_id: str | None = None
) -> EventTotals:
    """Leads, sales and revenue credited to partners (or to `partner_id`) in the window."""
    leads, sales, sold, refunded = repository.event_totals(session, program_id, since, before, partner_id)
    return EventTotals(leads=leads, sales=sales, revenue=sold - refunded)


def revenue_by_day(session: Session, program_id: str, since: datetime, before: datetime) -> list[tuple[date, int]]:
    """Partner-driven sales per UTC day, oldest first; days are grouped in Python for portability."""
    per_day: dict[date, int] = {}
    for moment, value in repository.sales_moments(session, program_id, since, before):
        per_day[moment.date()] = per_day.get(moment.date(), 0) + value
    return sorted(per_day.items())


def revenue_by_partner(
    session: Session, program_id: str, since: datetime | None = None, before: datetime | None = None
) -> dict[str, PartnerRevenue]:
    """Per partner with events in the window: their sales and revenue."""
    rows = repository.revenue_by_partner(session, program_id, since, before)
    return {partner_id: PartnerRevenue(sales, revenue) for partner_id, (sales, revenue) in rows.items()}


def recent_events(session: Session, program_id: str, limit: int) -> list[RecentEvent]:
    """The program's latest events, newest first."""
    return [RecentEvent(*row) for row in repository.recent_events(session, program_id, limit)]


def partner_customers(session: Session, program_id: str, partner_id: str, limit: int = 50) -> list[Customer]:
    """The customers credited to the partner, newest first."""
    return repository.partner_customers(session, program_id, partner_id, limit)


def has_events(session: Session, program_id: str) -> bool:
    """Whether the program has recorded any lead, sale or refund."""
    return repository.has_events(session, program_id)
