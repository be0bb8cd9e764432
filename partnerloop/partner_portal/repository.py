"""All SQL of the partner portal, scoped by program (and by partner where a partner reads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import (
    ApplicationAnswer,
    ApplicationForm,
    ApplicationQuestion,
    Click,
    ClickRollup,
    Commission,
    Coupon,
    Customer,
    Enrollment,
    Event,
    Link,
    Partner,
    PartnerApplication,
    Program,
    Resource,
    WelcomeKit,
)

# ---------------------------------------------------------------------------- application form


def program(session: Session, program_id: str) -> Program | None:
    return session.get(Program, program_id) if len(program_id) <= 26 else None


def application_form(session: Session, program_id: str) -> ApplicationForm | None:
    return session.get(ApplicationForm, program_id)


def questions(session: Session, program_id: str) -> list[ApplicationQuestion]:
    return list(
        session.execute(
            select(ApplicationQuestion)
            .where(ApplicationQuestion.program_id == program_id)
            .order_by(ApplicationQuestion.position, ApplicationQuestion.id)
        ).scalars()
    )


def question(session: Session, program_id: str, question_id: str) -> ApplicationQuestion | None:
    return session.execute(
        select(ApplicationQuestion).where(
            ApplicationQuestion.program_id == program_id, ApplicationQuestion.id == question_id
        )
    ).scalar_one_or_none()


def delete_question(session: Session, program_id: str, question_id: str) -> bool:
    result = session.execute(
        delete(ApplicationQuestion).where(
            ApplicationQuestion.program_id == program_id, ApplicationQuestion.id == question_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def application_of(session: Session, program_id: str, partner_id: str) -> PartnerApplication | None:
    return session.execute(
        select(PartnerApplication).where(
            PartnerApplication.program_id == program_id, PartnerApplication.partner_id == partner_id
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class ApplicationRow:
    application: PartnerApplication
    partner: Partner
    enrollment_status: str
    answers: list[ApplicationAnswer]


def applications(session: Session, program_id: str, status: str | None, limit: int = 100) -> list[ApplicationRow]:
    """Applications, newest first, with the partner, the enrollment's status and the answers."""
    statement = (
        select(PartnerApplication, Partner, Enrollment.status)
        .join(Partner, Partner.id == PartnerApplication.partner_id)
        .join(
            Enrollment,
            and_(Enrollment.partner_id == Partner.id, Enrollment.program_id == PartnerApplication.program_id),
        )
        .where(PartnerApplication.program_id == program_id)
        .order_by(PartnerApplication.id.desc())
        .limit(limit)
    )
    if status:
        statement = statement.where(Enrollment.status == status)
    rows = session.execute(statement).all()
    ids = [row[0].id for row in rows]
    answers: dict[str, list[ApplicationAnswer]] = {application_id: [] for application_id in ids}
    if ids:
        for answer in session.execute(
            select(ApplicationAnswer)
            .where(ApplicationAnswer.program_id == program_id, ApplicationAnswer.application_id.in_(ids))
            .order_by(ApplicationAnswer.position)
        ).scalars():
            answers[answer.application_id].append(answer)
    return [ApplicationRow(row[0], row[1], row[2], answers[row[0].id]) for row in rows]


# --------------------------------------------------------------------------- resources and kit


def resources(session: Session, program_id: str) -> list[Resource]:
    return list(
        session.execute(
            select(Resource).where(Resource.program_id == program_id).order_by(Resource.position, Resource.id)
        ).scalars()
    )


def resource(session: Session, program_id: str, resource_id: str) -> Resource | None:
    return session.execute(
        select(Resource).where(Resource.program_id == program_id, Resource.id == resource_id)
    ).scalar_one_or_none()


def next_position(session: Session, model: Any, program_id: str) -> int:
    highest = session.execute(select(func.max(model.position)).where(model.program_id == program_id)).scalar()
    return int(highest or 0) + 1


def welcome_kit(session: Session, program_id: str) -> WelcomeKit | None:
    return session.get(WelcomeKit, program_id)


# ------------------------------------------------------------------------------ partner's facts


def live_links(session: Session, program_id: str, partner_id: str) -> list[Link]:
    return list(
        session.execute(
            select(Link)
            .where(Link.program_id == program_id, Link.partner_id == partner_id, Link.deleted_at.is_(None))
            .order_by(Link.id.desc())
        ).scalars()
    )


def partner_link(session: Session, program_id: str, partner_id: str, link_id: str) -> Link | None:
    return session.execute(
        select(Link).where(
            Link.id == link_id,
            Link.program_id == program_id,
            Link.partner_id == partner_id,
            Link.deleted_at.is_(None),
        )
    ).scalar_one_or_none()


def active_coupons(session: Session, program_id: str, partner_id: str) -> list[Coupon]:
    """The partner's coupon codes that still attribute sales, oldest first."""
    return list(
        session.execute(
            select(Coupon)
            .where(Coupon.program_id == program_id, Coupon.partner_id == partner_id, Coupon.active.is_(True))
            .order_by(Coupon.created_at, Coupon.id)
        ).scalars()
    )


def count_live_links(session: Session, program_id: str, partner_id: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Link)
            .where(Link.program_id == program_id, Link.partner_id == partner_id, Link.deleted_at.is_(None))
        ).scalar_one()
    )


def total_clicks(session: Session, program_id: str, partner_id: str) -> int:
    return int(
        session.execute(
            select(func.coalesce(func.sum(ClickRollup.clicks), 0)).where(
                ClickRollup.program_id == program_id, ClickRollup.partner_id == partner_id
            )
        ).scalar_one()
    )


def clicks_by_day(
    session: Session, program_id: str, partner_id: str, start: date, end: date, link_id: str | None = None
) -> list[tuple[date, int, int]]:
    """(day, clicks, bot clicks) from the daily rollups, for the partner or one of their links."""
    statement = select(ClickRollup.day, func.sum(ClickRollup.clicks), func.sum(ClickRollup.bot_clicks)).where(
        ClickRollup.program_id == program_id,
        ClickRollup.partner_id == partner_id,
        ClickRollup.day >= start,
        ClickRollup.day <= end,
    )
    if link_id is not None:
        statement = statement.where(ClickRollup.link_id == link_id)
    rows = session.execute(statement.group_by(ClickRollup.day).order_by(ClickRollup.day)).all()
    return [(day, int(clicks or 0), int(bots or 0)) for day, clicks, bots in rows]


def unique_clicks(
    session: Session, program_id: str, partner_id: str, since: datetime, until: datetime, link_id: str | None = None
) -> int:
    """Distinct human visitors (truncated IP + user agent) among the clicks of the range."""
    visitors = select(Click.ip_truncated, Click.user_agent).where(
        Click.program_id == program_id,
        Click.partner_id == partner_id,
        Click.created_at >= since,
        Click.created_at < until,
        Click.is_bot.is_(False),
    )
    if link_id is not None:
        visitors = visitors.where(Click.link_id == link_id)
    subquery = visitors.distinct().subquery()
    return int(session.execute(select(func.count()).select_from(subquery)).scalar_one())


def conversions(
    session: Session, program_id: str, partner_id: str, since: datetime, until: datetime, link_id: str | None = None
) -> list[tuple[str, datetime, int | None, str | None]]:
    """(kind, time, amount, currency) of the leads and sales of the customers credited to the partner
    (or credited through one of their links)."""
    statement = (
        select(Event.kind, Event.occurred_at, Event.amount, Event.currency)
        .join(Customer, Customer.id == Event.customer_id)
        .where(
            Event.program_id == program_id,
            Customer.program_id == program_id,
            Customer.partner_id == partner_id,
            Event.kind.in_(("lead", "sale")),
            Event.occurred_at >= since,
            Event.occurred_at < until,
        )
    )
    if link_id is not None:
        statement = statement.join(Click, Click.id == Customer.click_id).where(Click.link_id == link_id)
    return [(kind, at, amount, currency) for kind, at, amount, currency in session.execute(statement).all()]


def earnings_in_range(
    session: Session, program_id: str, partner_id: str, since: datetime, until: datetime, link_id: str | None = None
) -> list[tuple[datetime, int, str]]:
    """(time of the event, earnings, currency) of the partner's commissions that still count (not rejected)."""
    at = func.coalesce(Event.occurred_at, Commission.created_at)
    statement = (
        select(at, Commission.earnings_amount, Commission.earnings_currency)
        .select_from(Commission)
        .outerjoin(Event, Event.id == Commission.event_id)
        .where(
            Commission.program_id == program_id,
            Commission.partner_id == partner_id,
            Commission.status != "rejected",
            at >= since,
            at < until,
        )
    )
    if link_id is not None:
        statement = statement.join(Click, Click.id == Commission.click_id).where(Click.link_id == link_id)
    return [(moment, int(amount), currency) for moment, amount, currency in session.execute(statement).all()]


def next_approval(session: Session, program_id: str, partner_id: str) -> datetime | None:
    """When the partner's next pending commission leaves its hold period."""
    moment: datetime | None = session.execute(
        select(func.min(Commission.hold_until)).where(
            Commission.program_id == program_id,
            Commission.partner_id == partner_id,
            Commission.status == "pending",
            Commission.earnings_amount > 0,
        )
    ).scalar()
    return moment


def link_click_totals(session: Session, link_ids: list[str]) -> dict[str, int]:
    if not link_ids:
        return {}
    rows = session.execute(
        select(ClickRollup.link_id, func.sum(ClickRollup.clicks))
        .where(ClickRollup.link_id.in_(link_ids))
        .group_by(ClickRollup.link_id)
    ).all()
    return {link_id: int(total or 0) for link_id, total in rows}


def link_conversion_totals(
    session: Session, program_id: str, partner_id: str, link_ids: list[str]
) -> dict[str, tuple[int, int]]:
    """(customers, sales) credited to the partner through each of the links (all time).

    Three indexed look-ups joined here: customers by partner, their clicks by id, their sales by customer.
    """
    if not link_ids:
        return {}
    customers = session.execute(
        select(Customer.id, Customer.click_id).where(
            Customer.program_id == program_id, Customer.partner_id == partner_id, Customer.click_id.is_not(None)
        )
    ).all()
    if not customers:
        return {}
    click_links = dict(
        session.execute(
            select(Click.id, Click.link_id).where(
                Click.id.in_({click_id for _customer, click_id in customers}), Click.link_id.in_(link_ids)
            )
        ).all()
    )
    sales = dict(
        session.execute(
            select(Event.customer_id, func.count())
            .where(
                Event.program_id == program_id,
                Event.kind == "sale",
                Event.customer_id.in_({customer_id for customer_id, _click in customers}),
            )
            .group_by(Event.customer_id)
        ).all()
    )
    totals: dict[str, tuple[int, int]] = {}
    for customer_id, click_id in customers:
        link_id = click_links.get(click_id) if click_id else None
        if link_id is not None:
            people, sold = totals.get(link_id, (0, 0))
            totals[link_id] = (people + 1, sold + int(sales.get(customer_id, 0)))
    return totals


def commissions_page(
    session: Session, program_id: str, partner_id: str, status: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[Commission, str | None, str | None]], str | None]:
    """The partner's commissions, newest first, with their event's invoice id and product."""
    statement = select(Commission).where(Commission.program_id == program_id, Commission.partner_id == partner_id)
    if status:
        statement = statement.where(Commission.status == status)
    rows = list(session.execute(paginate(statement, Commission.id, cursor, limit)).scalars())
    page, next_cursor = page_of(rows, limit, lambda commission: commission.id)
    event_ids = {commission.event_id for commission in page if commission.event_id}
    events: dict[str, tuple[str | None, str | None]] = {}
    if event_ids:
        found = session.execute(
            select(Event.id, Event.invoice_id, Event.product_id).where(
                Event.program_id == program_id, Event.id.in_(event_ids)
            )
        ).all()
        events = {event_id: (invoice_id, product_id) for event_id, invoice_id, product_id in found}
    return [(c, *events.get(c.event_id or "", (None, None))) for c in page], next_cursor
