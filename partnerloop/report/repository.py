"""All SQL of the reports, every query scoped by the program.

Clicks come from the daily click rollups (per link and UTC day, kept by the click writer), never from
raw clicks; conversions and commissions are grouped per UTC day and partner by the database
(`ix_events_program_window`), so a window costs one grouped scan of its events, not of its clicks.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from partnerloop.models import (
    Click,
    ClickRollup,
    Commission,
    Customer,
    Enrollment,
    Event,
    Group,
    Link,
    Partner,
    Program,
)
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


def daily_partner_figures(
    session: Session,
    program: Program,
    window: Window,
    *,
    group_id: str | None = None,
    partner_id: str | None = None,
) -> dict[DayPartner, Figures]:
    """Each (UTC day, partner)'s counts in the window (days with nothing are absent)."""
    found: dict[DayPartner, Figures] = defaultdict(Figures)

    clicks = _only(
        select(ClickRollup.day, ClickRollup.partner_id, func.sum(ClickRollup.clicks),
               func.sum(ClickRollup.unique_clicks), func.sum(ClickRollup.bot_clicks))
        .where(ClickRollup.program_id == program.id, ClickRollup.day >= window.first_day,
               ClickRollup.day <= window.last_day)
        .group_by(ClickRollup.day, ClickRollup.partner_id),
        ClickRollup.partner_id, program.id, group_id, partner_id,
    )  # fmt: skip
    for day, partner, total, unique, bots in session.execute(clicks):
        key = (_as_date(day), str(partner))
        found[key] = replace(found[key], clicks=int(total or 0), unique_clicks=int(unique or 0),
                             bot_clicks=int(bots or 0))  # fmt: skip

    event_day = _day(session, Event.occurred_at)
    events = _only(
        select(event_day, Event.partner_id,
               func.sum(case((Event.kind == "lead", 1), else_=0)),
               func.sum(case((Event.kind == "sale", 1), else_=0)),
               func.sum(case((Event.kind == "sale", _sale_value()), else_=0)),
               func.sum(case((Event.kind == "refund", _sale_value()), else_=0)))
        .where(Event.program_id == program.id, Event.partner_id.is_not(None), Event.occurred_at >= window.start,
               Event.occurred_at < window.end)
        .group_by(event_day, Event.partner_id),
        Event.partner_id, program.id, group_id, partner_id,
    )  # fmt: skip
    for day, partner, leads, sales, sold, refunded in session.execute(events):
        key = (_as_date(day), str(partner))
        found[key] = replace(found[key], leads=int(leads or 0), sales=int(sales or 0), revenue_amount=int(sold or 0),
                             refunds_amount=int(refunded or 0))  # fmt: skip

    earlier = aliased(Event)
    no_earlier_sale = ~(
        select(earlier.id)
        .where(
            earlier.customer_id == Event.customer_id, earlier.kind == "sale", earlier.occurred_at < Event.occurred_at
        )
        .exists()
    )
    firsts = _only(
        select(event_day, Event.partner_id, func.count(func.distinct(Event.customer_id)))
        .where(Event.program_id == program.id, Event.kind == "sale", Event.partner_id.is_not(None),
               Event.occurred_at >= window.start, Event.occurred_at < window.end, no_earlier_sale)
        .group_by(event_day, Event.partner_id),
        Event.partner_id, program.id, group_id, partner_id,
    )  # fmt: skip
    for day, partner, customers in session.execute(firsts):
        key = (_as_date(day), str(partner))
        found[key] = replace(found[key], new_customers=int(customers or 0))

    moment = _commission_moment()
    commission_day = _day(session, moment)
    earned = _only(
        select(commission_day, Commission.partner_id, func.sum(Commission.earnings_amount))
        .where(Commission.program_id == program.id, Commission.earnings_currency == program.currency,
               Commission.status.not_in(_NOT_COUNTED), moment >= window.start, moment < window.end)
        .group_by(commission_day, Commission.partner_id),
        Commission.partner_id, program.id, group_id, partner_id,
    )  # fmt: skip
    for day, partner, total in session.execute(earned):
        key = (_as_date(day), str(partner))
        found[key] = replace(found[key], commissions_amount=int(total or 0))
    return dict(found)


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
    found: dict[str, Figures] = defaultdict(Figures)
    clicks = _only(
        select(ClickRollup.link_id, func.sum(ClickRollup.clicks), func.sum(ClickRollup.unique_clicks),
               func.sum(ClickRollup.bot_clicks))
        .where(ClickRollup.program_id == program.id, ClickRollup.day >= window.first_day,
               ClickRollup.day <= window.last_day)
        .group_by(ClickRollup.link_id),
        ClickRollup.partner_id, program.id, group_id, None,
    )  # fmt: skip
    for link_id, total, unique, bots in session.execute(clicks):
        found[str(link_id)] = Figures(clicks=int(total or 0), unique_clicks=int(unique or 0), bot_clicks=int(bots or 0))

    click_id = func.coalesce(Event.click_id, Customer.click_id)
    earlier = aliased(Event)
    first_sale = ~(
        select(earlier.id)
        .where(
            earlier.customer_id == Event.customer_id, earlier.kind == "sale", earlier.occurred_at < Event.occurred_at
        )
        .exists()
    )
    events = _only(
        select(Click.link_id,
               func.sum(case((Event.kind == "lead", 1), else_=0)),
               func.sum(case((Event.kind == "sale", 1), else_=0)),
               func.sum(case((Event.kind == "sale", _sale_value()), else_=0)),
               func.sum(case((Event.kind == "refund", _sale_value()), else_=0)),
               func.count(func.distinct(case((and_(Event.kind == "sale", first_sale), Event.customer_id)))))
        .select_from(Event)
        .join(Customer, Customer.id == Event.customer_id)
        .join(Click, Click.id == click_id)
        .where(Event.program_id == program.id, Event.partner_id.is_not(None), Event.occurred_at >= window.start,
               Event.occurred_at < window.end)
        .group_by(Click.link_id),
        Event.partner_id, program.id, group_id, None,
    )  # fmt: skip
    for link_id, leads, sales, sold, refunded, customers in session.execute(events):
        key = str(link_id)
        found[key] = replace(found[key], leads=int(leads or 0), sales=int(sales or 0), revenue_amount=int(sold or 0),
                             refunds_amount=int(refunded or 0), new_customers=int(customers or 0))  # fmt: skip

    moment = _commission_moment()
    earned = _only(
        select(Click.link_id, func.sum(Commission.earnings_amount))
        .join(Click, Click.id == Commission.click_id)
        .where(Commission.program_id == program.id, Commission.earnings_currency == program.currency,
               Commission.status.not_in(_NOT_COUNTED), moment >= window.start, moment < window.end)
        .group_by(Click.link_id),
        Commission.partner_id, program.id, group_id, None,
    )  # fmt: skip
    for link_id, total in session.execute(earned):
        key = str(link_id)
        found[key] = replace(found[key], commissions_amount=int(total or 0))
    return dict(found)


def links(session: Session, program_id: str) -> dict[str, Link]:
    return {link.id: link for link in session.execute(select(Link).where(Link.program_id == program_id)).scalars()}


def source_figures(
    session: Session, program: Program, window: Window, group_id: str | None = None
) -> dict[str, Figures]:
    """Conversions by how they were credited: `coupon` (a coupon code on the sale), `link` (a click),
    or `referral_code` (neither: a referral code or an earlier attribution)."""
    source = case(
        (Event.coupon_code.is_not(None), "coupon"),
        (func.coalesce(Event.click_id, Customer.click_id).is_not(None), "link"),
        else_="referral_code",
    )
    earlier = aliased(Event)
    first_sale = ~(
        select(earlier.id)
        .where(
            earlier.customer_id == Event.customer_id, earlier.kind == "sale", earlier.occurred_at < Event.occurred_at
        )
        .exists()
    )
    rows = _only(
        select(source,
               func.sum(case((Event.kind == "lead", 1), else_=0)),
               func.sum(case((Event.kind == "sale", 1), else_=0)),
               func.sum(case((Event.kind == "sale", _sale_value()), else_=0)),
               func.sum(case((Event.kind == "refund", _sale_value()), else_=0)),
               func.count(func.distinct(case((and_(Event.kind == "sale", first_sale), Event.customer_id)))))
        .select_from(Event)
        .join(Customer, Customer.id == Event.customer_id)
        .where(Event.program_id == program.id, Event.partner_id.is_not(None), Event.occurred_at >= window.start,
               Event.occurred_at < window.end)
        .group_by(source),
        Event.partner_id, program.id, group_id, None,
    )  # fmt: skip
    found: dict[str, Figures] = defaultdict(Figures)
    for name, leads, sales, sold, refunded, customers in session.execute(rows):
        found[str(name)] = Figures(leads=int(leads or 0), sales=int(sales or 0), revenue_amount=int(sold or 0),
                                   refunds_amount=int(refunded or 0), new_customers=int(customers or 0))  # fmt: skip
    moment = _commission_moment()
    earned = _only(
        select(source, func.sum(Commission.earnings_amount))
        .select_from(Commission)
        .join(Event, Event.id == func.coalesce(Commission.event_id, Commission.trigger_event_id))
        .join(Customer, Customer.id == Event.customer_id)
        .where(Commission.program_id == program.id, Commission.earnings_currency == program.currency,
               Commission.status.not_in(_NOT_COUNTED), moment >= window.start, moment < window.end)
        .group_by(source),
        Commission.partner_id, program.id, group_id, None,
    )  # fmt: skip
    for name, total in session.execute(earned):
        found[str(name)] = replace(found[str(name)], commissions_amount=int(total or 0))
    return dict(found)
