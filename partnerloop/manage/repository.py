"""All SQL of the manager dashboard, every query scoped by the program."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from partnerloop.manage.rules import Period, Totals
from partnerloop.models import (
    ApiKey,
    ClickRollup,
    Commission,
    Customer,
    Enrollment,
    Event,
    Group,
    Link,
    Partner,
    PartnerNote,
    Plan,
    Program,
    User,
)

_NOT_COUNTED = ("rejected",)


def _sale_value() -> Any:
    """A sale's amount in the program's currency (program_amount when it was converted)."""
    return func.coalesce(Event.program_amount, Event.amount, 0)


def _commission_moment() -> Any:
    return func.coalesce(Commission.occurred_at, Commission.created_at)


# ------------------------------------------------------------------------------------- overview


def totals(session: Session, program: Program, period: Period | None, partner_id: str | None = None) -> Totals:
    """Clicks, leads, sales, net revenue and commissions (program currency) of the period (None: all time)."""
    clicks_q = select(func.coalesce(func.sum(ClickRollup.clicks), 0)).where(ClickRollup.program_id == program.id)
    events_q = select(
        func.sum(case((Event.kind == "lead", 1), else_=0)),
        func.sum(case((Event.kind == "sale", 1), else_=0)),
        func.sum(case((Event.kind == "sale", _sale_value()), else_=0)),
        func.sum(case((Event.kind == "refund", _sale_value()), else_=0)),
    ).where(Event.program_id == program.id, Event.partner_id.is_not(None))
    earned_q = select(func.coalesce(func.sum(Commission.earnings_amount), 0)).where(
        Commission.program_id == program.id,
        Commission.earnings_currency == program.currency,
        Commission.status.not_in(_NOT_COUNTED),
    )
    if period is not None:
        clicks_q = clicks_q.where(ClickRollup.day >= period.start, ClickRollup.day <= period.end)
        events_q = events_q.where(Event.occurred_at >= period.starts_at, Event.occurred_at < period.ends_before)
        earned_q = earned_q.where(_commission_moment() >= period.starts_at, _commission_moment() < period.ends_before)
    if partner_id is not None:
        clicks_q = clicks_q.where(ClickRollup.partner_id == partner_id)
        events_q = events_q.where(Event.partner_id == partner_id)
        earned_q = earned_q.where(Commission.partner_id == partner_id)
    leads, sales, sold, refunded = session.execute(events_q).one()
    return Totals(
        clicks=int(session.execute(clicks_q).scalar_one()),
        leads=int(leads or 0),
        sales=int(sales or 0),
        revenue=int(sold or 0) - int(refunded or 0),
        commissions=int(session.execute(earned_q).scalar_one()),
    )


def clicks_by_day(session: Session, program_id: str, period: Period) -> list[tuple[date, int]]:
    rows = session.execute(
        select(ClickRollup.day, func.sum(ClickRollup.clicks))
        .where(ClickRollup.program_id == program_id, ClickRollup.day >= period.start, ClickRollup.day <= period.end)
        .group_by(ClickRollup.day)
    ).all()
    return [(day, int(total or 0)) for day, total in rows]


def revenue_by_day(session: Session, program_id: str, period: Period) -> list[tuple[date, int]]:
    """Partner-driven sales per UTC day (program currency); days are grouped in Python for portability."""
    rows = session.execute(
        select(Event.occurred_at, _sale_value()).where(
            Event.program_id == program_id,
            Event.kind == "sale",
            Event.partner_id.is_not(None),
            Event.occurred_at >= period.starts_at,
            Event.occurred_at < period.ends_before,
        )
    ).all()
    per_day: dict[date, int] = {}
    for moment, value in rows:
        per_day[moment.date()] = per_day.get(moment.date(), 0) + int(value or 0)
    return sorted(per_day.items())


def other_currency_commissions(session: Session, program: Program, period: Period) -> dict[str, int]:
    """Commissions earned in currencies other than the program's (not in the KPIs)."""
    rows = session.execute(
        select(Commission.earnings_currency, func.sum(Commission.earnings_amount))
        .where(
            Commission.program_id == program.id,
            Commission.earnings_currency != program.currency,
            Commission.status.not_in(_NOT_COUNTED),
            _commission_moment() >= period.starts_at,
            _commission_moment() < period.ends_before,
        )
        .group_by(Commission.earnings_currency)
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


@dataclass(frozen=True)
class PartnerFigures:
    partner_id: str
    name: str
    email: str
    status: str
    clicks: int
    sales: int
    revenue: int
    earnings: int


def top_partners(session: Session, program: Program, period: Period, limit: int = 5) -> list[PartnerFigures]:
    """Partners with the most revenue in the period (then earnings)."""
    revenue = (
        select(
            Event.partner_id.label("partner_id"),
            func.sum(case((Event.kind == "sale", 1), else_=0)).label("sales"),
            func.sum(
                case((Event.kind == "sale", _sale_value()), (Event.kind == "refund", -_sale_value()), else_=0)
            ).label("revenue"),
        )
        .where(
            Event.program_id == program.id,
            Event.partner_id.is_not(None),
            Event.occurred_at >= period.starts_at,
            Event.occurred_at < period.ends_before,
        )
        .group_by(Event.partner_id)
        .subquery()
    )
    earned = (
        select(Commission.partner_id.label("partner_id"), func.sum(Commission.earnings_amount).label("earnings"))
        .where(
            Commission.program_id == program.id,
            Commission.earnings_currency == program.currency,
            Commission.status.not_in(_NOT_COUNTED),
            _commission_moment() >= period.starts_at,
            _commission_moment() < period.ends_before,
        )
        .group_by(Commission.partner_id)
        .subquery()
    )
    clicks = (
        select(ClickRollup.partner_id.label("partner_id"), func.sum(ClickRollup.clicks).label("clicks"))
        .where(ClickRollup.program_id == program.id, ClickRollup.day >= period.start, ClickRollup.day <= period.end)
        .group_by(ClickRollup.partner_id)
        .subquery()
    )
    revenue_value = func.coalesce(revenue.c.revenue, 0)
    earnings_value = func.coalesce(earned.c.earnings, 0)
    rows = session.execute(
        select(
            Partner.id,
            Partner.name,
            Partner.email,
            Enrollment.status,
            func.coalesce(clicks.c.clicks, 0),
            func.coalesce(revenue.c.sales, 0),
            revenue_value,
            earnings_value,
        )
        .join(Enrollment, and_(Enrollment.partner_id == Partner.id, Enrollment.program_id == program.id))
        .outerjoin(revenue, revenue.c.partner_id == Partner.id)
        .outerjoin(earned, earned.c.partner_id == Partner.id)
        .outerjoin(clicks, clicks.c.partner_id == Partner.id)
        .where(
            or_(revenue.c.partner_id.is_not(None), earned.c.partner_id.is_not(None), clicks.c.partner_id.is_not(None))
        )
        .order_by(revenue_value.desc(), earnings_value.desc(), Partner.name)
        .limit(limit)
    ).all()
    return [
        PartnerFigures(
            partner_id=str(row[0]),
            name=str(row[1]),
            email=str(row[2]),
            status=str(row[3]),
            clicks=int(row[4]),
            sales=int(row[5]),
            revenue=int(row[6]),
            earnings=int(row[7]),
        )
        for row in rows
    ]


def count_enrollments(session: Session, program_id: str, status: str) -> int:
    return int(
        session.execute(
            select(func.count()).where(Enrollment.program_id == program_id, Enrollment.status == status)
        ).scalar_one()
    )


def commission_counts(session: Session, program_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Commission.status, func.count())
        .where(Commission.program_id == program_id, Commission.kind != "reversal")
        .group_by(Commission.status)
    ).all()
    return {status: int(count) for status, count in rows}


@dataclass(frozen=True)
class Activity:
    at: datetime
    kind: str
    text: str
    partner_id: str | None
    partner_name: str | None
    amount: int | None
    currency: str | None


def recent_activity(session: Session, program_id: str, limit: int = 12) -> list[Activity]:
    """The latest conversions and partner sign-ups, newest first."""
    events = session.execute(
        select(Event.occurred_at, Event.kind, Event.amount, Event.currency, Event.partner_id, Partner.name)
        .outerjoin(Partner, Partner.id == Event.partner_id)
        .where(Event.program_id == program_id)
        .order_by(Event.occurred_at.desc())
        .limit(limit)
    ).all()
    joins = session.execute(
        select(Enrollment.created_at, Enrollment.status, Partner.id, Partner.name)
        .join(Partner, Partner.id == Enrollment.partner_id)
        .where(Enrollment.program_id == program_id)
        .order_by(Enrollment.created_at.desc())
        .limit(limit)
    ).all()
    items = [
        Activity(
            at,
            kind,
            {"lead": "New lead", "sale": "Sale", "refund": "Refund"}.get(kind, kind),
            pid,
            name,
            amount,
            currency,
        )
        for at, kind, amount, currency, pid, name in events
    ]
    items += [
        Activity(
            at,
            "partner",
            "Applied" if status == "pending" else "Invited" if status == "invited" else "Joined",
            pid,
            name,
            None,
            None,
        )
        for at, status, pid, name in joins
    ]
    return sorted(items, key=lambda item: item.at, reverse=True)[:limit]


# ------------------------------------------------------------------------------------- partners


@dataclass(frozen=True)
class PartnerRow:
    partner: Partner
    enrollment: Enrollment
    group_name: str | None
    clicks: int
    revenue: int
    earnings: int


def _partner_stats_subqueries(program: Program) -> tuple[Any, Any, Any]:
    revenue = (
        select(
            Event.partner_id.label("partner_id"),
            func.sum(
                case((Event.kind == "sale", _sale_value()), (Event.kind == "refund", -_sale_value()), else_=0)
            ).label("revenue"),
        )
        .where(Event.program_id == program.id, Event.partner_id.is_not(None))
        .group_by(Event.partner_id)
        .subquery()
    )
    earned = (
        select(Commission.partner_id.label("partner_id"), func.sum(Commission.earnings_amount).label("earnings"))
        .where(
            Commission.program_id == program.id,
            Commission.earnings_currency == program.currency,
            Commission.status.not_in(_NOT_COUNTED),
        )
        .group_by(Commission.partner_id)
        .subquery()
    )
    clicks = (
        select(ClickRollup.partner_id.label("partner_id"), func.sum(ClickRollup.clicks).label("clicks"))
        .where(ClickRollup.program_id == program.id)
        .group_by(ClickRollup.partner_id)
        .subquery()
    )
    return revenue, earned, clicks


def partners(
    session: Session,
    program: Program,
    *,
    search: str,
    status: str,
    group_id: str,
    sort: str,
    offset: int,
    limit: int,
) -> tuple[list[PartnerRow], int]:
    """One page of the program's partners with lifetime figures, and how many match in all."""
    revenue, earned, clicks = _partner_stats_subqueries(program)
    revenue_value = func.coalesce(revenue.c.revenue, 0)
    earnings_value = func.coalesce(earned.c.earnings, 0)
    clicks_value = func.coalesce(clicks.c.clicks, 0)
    statement: Any = (
        select(Partner, Enrollment, Group.name, clicks_value, revenue_value, earnings_value)
        .join(Enrollment, and_(Enrollment.partner_id == Partner.id, Enrollment.program_id == program.id))
        .outerjoin(Group, and_(Group.id == Enrollment.group_id, Group.program_id == program.id))
        .outerjoin(revenue, revenue.c.partner_id == Partner.id)
        .outerjoin(earned, earned.c.partner_id == Partner.id)
        .outerjoin(clicks, clicks.c.partner_id == Partner.id)
    )
    filters = []
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        filters.append(
            or_(
                func.lower(Partner.name).like(pattern),
                func.lower(Partner.email).like(pattern),
                func.lower(Enrollment.referral_code).like(pattern),
            )
        )
    if status:
        filters.append(Enrollment.status == status)
    if group_id == "none":
        filters.append(Enrollment.group_id.is_(None))
    elif group_id:
        filters.append(Enrollment.group_id == group_id)
    statement = statement.where(*filters)
    total = int(
        session.execute(
            select(func.count())
            .select_from(Partner)
            .join(Enrollment, and_(Enrollment.partner_id == Partner.id, Enrollment.program_id == program.id))
            .where(*filters)
        ).scalar_one()
    )
    orders: dict[str, list[Any]] = {
        "name": [func.lower(Partner.name), Partner.id],
        "newest": [Enrollment.created_at.desc(), Partner.id.desc()],
        "revenue": [revenue_value.desc(), Partner.id],
        "earnings": [earnings_value.desc(), Partner.id],
        "clicks": [clicks_value.desc(), Partner.id],
    }
    order = orders.get(sort, orders["name"])
    rows = session.execute(statement.order_by(*order).offset(offset).limit(limit)).all()
    return [PartnerRow(row[0], row[1], row[2], int(row[3]), int(row[4]), int(row[5])) for row in rows], total


def enrolled_partner(session: Session, program_id: str, partner_id: str) -> tuple[Partner, Enrollment] | None:
    row = session.execute(
        select(Partner, Enrollment)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(Enrollment.program_id == program_id, Partner.id == partner_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def partner_links(session: Session, program_id: str, partner_id: str) -> list[tuple[Link, int]]:
    clicks = func.coalesce(func.sum(ClickRollup.clicks), 0)
    rows = session.execute(
        select(Link, clicks)
        .outerjoin(ClickRollup, ClickRollup.link_id == Link.id)
        .where(Link.program_id == program_id, Link.partner_id == partner_id, Link.deleted_at.is_(None))
        .group_by(Link.id)
        .order_by(Link.created_at.desc())
    ).all()
    return [(row[0], int(row[1])) for row in rows]


def partner_customers(session: Session, program_id: str, partner_id: str, limit: int = 50) -> list[Customer]:
    return list(
        session.execute(
            select(Customer)
            .where(Customer.program_id == program_id, Customer.partner_id == partner_id)
            .order_by(Customer.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def partner_notes(session: Session, program_id: str, partner_id: str) -> list[tuple[PartnerNote, str | None]]:
    rows = session.execute(
        select(PartnerNote, User.email)
        .outerjoin(User, User.id == PartnerNote.author_user_id)
        .where(PartnerNote.program_id == program_id, PartnerNote.partner_id == partner_id)
        .order_by(PartnerNote.created_at.desc())
    ).all()
    return [(row[0], row[1]) for row in rows]


def groups(session: Session, program_id: str) -> list[Group]:
    return list(session.execute(select(Group).where(Group.program_id == program_id).order_by(Group.name)).scalars())


def group(session: Session, program_id: str, group_id: str) -> Group | None:
    return session.execute(
        select(Group).where(Group.id == group_id, Group.program_id == program_id)
    ).scalar_one_or_none()


def group_sizes(session: Session, program_id: str) -> dict[str, int]:
    rows = session.execute(
        select(Enrollment.group_id, func.count())
        .where(Enrollment.program_id == program_id, Enrollment.group_id.is_not(None))
        .group_by(Enrollment.group_id)
    ).all()
    return {str(group_id): int(count) for group_id, count in rows}


def plans(session: Session, program_id: str) -> list[Plan]:
    return list(session.execute(select(Plan).where(Plan.program_id == program_id).order_by(Plan.created_at)).scalars())


def plan(session: Session, program_id: str, plan_id: str) -> Plan | None:
    return session.execute(select(Plan).where(Plan.id == plan_id, Plan.program_id == program_id)).scalar_one_or_none()


def plan_usage(session: Session, program_id: str) -> dict[str, int]:
    """How many enrollments carry each plan as their own."""
    rows = session.execute(
        select(Enrollment.plan_id, func.count())
        .where(Enrollment.program_id == program_id, Enrollment.plan_id.is_not(None))
        .group_by(Enrollment.plan_id)
    ).all()
    return {str(plan_id): int(count) for plan_id, count in rows}


# ---------------------------------------------------------------------------------- commissions


@dataclass(frozen=True)
class CommissionFilter:
    statuses: tuple[str, ...]
    partner_id: str = ""
    kind: str = ""
    search: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _commission_query(program_id: str, where: CommissionFilter) -> Any:
    statement: Any = (
        select(Commission, Partner.name, Partner.email)
        .join(Partner, Partner.id == Commission.partner_id)
        .where(Commission.program_id == program_id)
    )
    if where.statuses:
        statement = statement.where(Commission.status.in_(where.statuses))
    if where.partner_id:
        statement = statement.where(Commission.partner_id == where.partner_id)
    if where.kind:
        statement = statement.where(Commission.kind == where.kind)
    if where.search.strip():
        pattern = f"%{where.search.strip().lower()}%"
        statement = statement.where(
            or_(
                func.lower(Partner.name).like(pattern),
                func.lower(Partner.email).like(pattern),
                Commission.id == where.search.strip(),
            )
        )
    if where.since is not None:
        statement = statement.where(_commission_moment() >= where.since)
    if where.until is not None:
        statement = statement.where(_commission_moment() < where.until)
    return statement


def commissions(
    session: Session, program_id: str, where: CommissionFilter, *, offset: int, limit: int
) -> tuple[list[tuple[Commission, str, str]], int]:
    statement = _commission_query(program_id, where)
    total = int(session.execute(select(func.count()).select_from(statement.subquery())).scalar_one())
    rows = session.execute(
        statement.order_by(Commission.created_at.desc(), Commission.id.desc()).offset(offset).limit(limit)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows], total


def commissions_for_export(session: Session, program_id: str, where: CommissionFilter, batch: int = 1000) -> Any:
    """Every matching commission, oldest first, fetched in batches (an export may be large)."""
    statement = _commission_query(program_id, where).order_by(Commission.created_at, Commission.id)
    return session.execute(statement.execution_options(yield_per=batch))


def commission_sums(session: Session, program_id: str, where: CommissionFilter) -> dict[str, int]:
    statement = _commission_query(program_id, where).subquery()
    rows = session.execute(
        select(statement.c.earnings_currency, func.sum(statement.c.earnings_amount)).group_by(
            statement.c.earnings_currency
        )
    ).all()
    return {currency: int(total or 0) for currency, total in rows}


def partner_commissions(session: Session, program_id: str, partner_id: str, limit: int = 50) -> list[Commission]:
    return list(
        session.execute(
            select(Commission)
            .where(Commission.program_id == program_id, Commission.partner_id == partner_id)
            .order_by(Commission.created_at.desc())
            .limit(limit)
        ).scalars()
    )


# -------------------------------------------------------------------------------------- settings


def api_keys(session: Session, program_id: str) -> list[ApiKey]:
    return list(
        session.execute(select(ApiKey).where(ApiKey.program_id == program_id).order_by(ApiKey.created_at)).scalars()
    )


def api_key(session: Session, program_id: str, key_id: str) -> ApiKey | None:
    return session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.program_id == program_id)
    ).scalar_one_or_none()
