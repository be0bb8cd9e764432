"""What the manager's overview shows, read in a handful of aggregate queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.models import (
    ClickRollup,
    Commission,
    Enrollment,
    Event,
    Member,
    Partner,
    Program,
    User,
)


@dataclass(frozen=True)
class Overview:
    clicks: int
    leads: int
    sales: int
    revenue: dict[str, int]
    earnings_by_status: dict[tuple[str, str], int]
    clicks_by_day: list[tuple[date, int]]
    top_partners: list[tuple[str, str, int, str]]  # name, email, earnings, currency
    partners_by_status: dict[str, int]


def user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def programs_of_user(session: Session, user_id: str) -> list[Program]:
    return list(
        session.execute(
            select(Program)
            .join(Member, Member.workspace_id == Program.workspace_id)
            .where(Member.user_id == user_id)
            .order_by(Program.created_at)
        ).scalars()
    )


def overview(session: Session, program_id: str, since: datetime) -> Overview:
    clicks_by_day = [
        (day, int(total))
        for day, total in session.execute(
            select(ClickRollup.day, func.sum(ClickRollup.clicks))
            .where(ClickRollup.program_id == program_id, ClickRollup.day >= since.date())
            .group_by(ClickRollup.day)
            .order_by(ClickRollup.day)
        ).all()
    ]
    events = dict(
        session.execute(
            select(Event.kind, func.count())
            .where(Event.program_id == program_id, Event.occurred_at >= since)
            .group_by(Event.kind)
        ).all()
    )
    revenue = {
        currency: int(total)
        for currency, total in session.execute(
            select(Event.currency, func.sum(Event.amount))
            .where(Event.program_id == program_id, Event.kind == "sale", Event.occurred_at >= since)
            .group_by(Event.currency)
        ).all()
    }
    earnings = {
        (status, currency): int(total)
        for status, currency, total in session.execute(
            select(Commission.status, Commission.earnings_currency, func.sum(Commission.earnings_amount))
            .where(Commission.program_id == program_id)
            .group_by(Commission.status, Commission.earnings_currency)
        ).all()
    }
    earned = func.sum(Commission.earnings_amount)
    top = [
        (name, email, int(total), currency)
        for name, email, total, currency in session.execute(
            select(Partner.name, Partner.email, earned, Commission.earnings_currency)
            .join(Commission, Commission.partner_id == Partner.id)
            .where(Commission.program_id == program_id, Commission.status != "rejected")
            .group_by(Partner.id, Partner.name, Partner.email, Commission.earnings_currency)
            .order_by(earned.desc())
            .limit(5)
        ).all()
    ]
    statuses = dict(
        session.execute(
            select(Enrollment.status, func.count())
            .where(Enrollment.program_id == program_id)
            .group_by(Enrollment.status)
        ).all()
    )
    return Overview(
        clicks=sum(total for _day, total in clicks_by_day),
        leads=int(events.get("lead", 0)),
        sales=int(events.get("sale", 0)),
        revenue=revenue,
        earnings_by_status=earnings,
        clicks_by_day=clicks_by_day,
        top_partners=top,
        partners_by_status={status: int(count) for status, count in statuses.items()},
    )


def user_email(session: Session, user_id: str) -> str | None:
    return session.execute(select(User.email).where(User.id == user_id)).scalar_one_or_none()
