"""Conversions' own tables: customers and events (lead, sale, refund), and the clicks and referral
codes they are attributed from: all SQL, scoped by program."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.db import insert_returning
from partnerloop.kit.ids import new_id
from partnerloop.models import Advocate, Click, Customer, Event, Link, Referral


def get_click(session: Session, program_id: str, click_id: str) -> Click | None:
    return session.execute(
        select(Click).where(Click.id == click_id, Click.program_id == program_id)
    ).scalar_one_or_none()


def click_exists(session: Session, program_id: str, click_id: str) -> bool:
    found = session.execute(select(Click.id).where(Click.id == click_id, Click.program_id == program_id)).first()
    return found is not None


def customer_for(session: Session, program_id: str, external_id: str) -> Customer:
    """The program's customer with this external id, created when new (safe under concurrency)."""
    where = (Customer.program_id == program_id, Customer.external_id == external_id)
    customer: Customer | None = session.execute(select(Customer).where(*where)).scalar_one_or_none()
    return customer if customer is not None else new_customer(session, program_id, external_id)[0]


def _first_sale_at() -> Any:
    """The time of the customer's earliest sale (correlated to the Customer of the enclosing query)."""
    return (
        select(func.min(Event.occurred_at))
        .where(Event.customer_id == Customer.id, Event.kind == "sale")
        .correlate(Customer)
        .scalar_subquery()
    )


def sale_lookup(
    session: Session, program_id: str, external_id: str, invoice_id: str
) -> tuple[Event | None, Customer | None, datetime | None]:
    """What tracking a sale reads before deciding, in one query when the customer exists: the sale already
    recorded for this invoice (of any customer), the customer, and the time of their earliest sale so far
    (the new sale's first-sale facts: its own row is not among them yet). Writes nothing."""
    row = session.execute(
        select(Customer, _first_sale_at(), Event)
        .outerjoin(
            Event, (Event.program_id == program_id) & (Event.kind == "sale") & (Event.business_key == invoice_id)
        )
        .where(Customer.program_id == program_id, Customer.external_id == external_id)
    ).one_or_none()
    if row is not None:
        return row[2], row[0], row[1]
    return event_by_key(session, program_id, "sale", invoice_id), None, None


def new_customer(session: Session, program_id: str, external_id: str) -> tuple[Customer, datetime | None]:
    """Create the customer `sale_lookup` did not find, and the time of their earliest sale (None for a new
    one; a concurrent request may have created them, with a sale, meanwhile)."""
    created = insert_returning(
        session, Customer, {"id": new_id(), "program_id": program_id, "external_id": external_id},
        ["program_id", "external_id"],
    )  # fmt: skip
    if created is not None:
        return created, None
    row = session.execute(
        select(Customer, _first_sale_at()).where(Customer.program_id == program_id, Customer.external_id == external_id)
    ).one()
    return row[0], row[1]


def insert_event(session: Session, values: dict[str, Any]) -> tuple[Event, bool]:
    """Insert the event unless its business key exists; (the event, whether this call created it)."""
    event: Event | None = insert_returning(
        session, Event, {"id": new_id(), **values}, ["program_id", "kind", "business_key"]
    )
    if event is not None:
        return event, True
    existing = event_by_key(session, values["program_id"], values["kind"], values["business_key"])
    assert existing is not None  # the conflict was on this very key
    return existing, False


def event_by_key(
    session: Session, program_id: str, kind: str, business_key: str, *, lock: bool = False
) -> Event | None:
    statement = select(Event).where(
        Event.program_id == program_id, Event.kind == kind, Event.business_key == business_key
    )
    if lock:
        statement = statement.with_for_update()  # PostgreSQL; SQLite writers are serialized anyway
    return session.execute(statement).scalar_one_or_none()


def first_other_sale_at(session: Session, customer_id: str, sale_id: str) -> datetime | None:
    """The earliest time of the customer's sales other than `sale_id`."""
    earliest: datetime | None = session.execute(
        select(func.min(Event.occurred_at)).where(
            Event.customer_id == customer_id, Event.kind == "sale", Event.id != sale_id
        )
    ).scalar_one()
    return earliest


def unattributed_sales(session: Session, customer_id: str) -> list[Event]:
    """The customer's sales credited to no partner (refunded or not), oldest first."""
    return list(
        session.execute(
            select(Event)
            .where(
                Event.customer_id == customer_id,
                Event.kind == "sale",
                Event.partner_id.is_(None),
                Event.awaiting_rate.is_(False),  # priced, with whoever credits it then, when its rate arrives
            )
            .order_by(Event.occurred_at, Event.id)
        ).scalars()
    )


def sales_awaiting_rate(session: Session, program_id: str | None) -> list[Event]:
    """The sales (of one program, or all) waiting for an exchange rate, oldest first, locked: a second
    pricing job skips them (PostgreSQL; SQLite writers are serialized anyway)."""
    statement = select(Event).where(Event.awaiting_rate.is_(True), Event.kind == "sale")
    if program_id is not None:
        statement = statement.where(Event.program_id == program_id)
    statement = statement.order_by(Event.occurred_at, Event.id).with_for_update(skip_locked=True)
    return list(session.execute(statement).scalars())


def refunds_of_sale(session: Session, sale_id: str) -> list[Event]:
    """The sale's refunds in the order they were recorded."""
    return list(
        session.execute(
            select(Event).where(Event.sale_event_id == sale_id, Event.kind == "refund").order_by(Event.id)
        ).scalars()
    )


def refunded_total(session: Session, sale_id: str) -> int:
    total = session.execute(
        select(func.sum(Event.amount)).where(Event.sale_event_id == sale_id, Event.kind == "refund")
    ).scalar_one()
    return int(total or 0)


# ---------------------------------------------------------------- figures the dashboard reads (program currency)


def recent_events(
    session: Session, program_id: str, limit: int
) -> list[tuple[datetime, str, int | None, str | None, str | None]]:
    """The latest events, newest first: (when, kind, amount, currency, partner id)."""
    rows = session.execute(
        select(Event.occurred_at, Event.kind, Event.amount, Event.currency, Event.partner_id)
        .where(Event.program_id == program_id)
        .order_by(Event.occurred_at.desc())
        .limit(limit)
    ).all()
    return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]


def partner_customers(session: Session, program_id: str, partner_id: str, limit: int) -> list[Customer]:
    return list(
        session.execute(
            select(Customer)
            .where(Customer.program_id == program_id, Customer.partner_id == partner_id)
            .order_by(Customer.created_at.desc())
            .limit(limit)
        ).scalars()
    )


def has_events(session: Session, program_id: str) -> bool:
    return session.execute(select(Event.id).where(Event.program_id == program_id).limit(1)).first() is not None


def customers_by_ids(session: Session, program_id: str, customer_ids: set[str]) -> dict[str, Customer]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer).where(Customer.program_id == program_id, Customer.id.in_(customer_ids))
    ).scalars()
    return {customer.id: customer for customer in rows}


def click_links(session: Session, program_id: str, click_ids: set[str]) -> dict[str, tuple[str, datetime]]:
    """Click id -> (the key of its link, when it was clicked)."""
    if not click_ids:
        return {}
    rows = session.execute(
        select(Click.id, Link.key, Click.created_at)
        .join(Link, Link.id == Click.link_id)
        .where(Click.program_id == program_id, Click.id.in_(click_ids))
    ).all()
    return {click_id: (key, clicked_at) for click_id, key, clicked_at in rows}


def attributing_events(session: Session, program_id: str, customer_ids: set[str]) -> dict[str, tuple[str, str | None]]:
    """Customer id -> (kind, coupon code) of the lead or sale that attributed them (a lead first when both
    happened at that moment)."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Event.customer_id, Event.kind, Event.coupon_code)
        .join(Customer, Customer.id == Event.customer_id)
        .where(
            Customer.program_id == program_id,
            Customer.id.in_(customer_ids),
            Event.kind.in_(("lead", "sale")),
            Event.occurred_at == Customer.attributed_at,
        )
        .order_by(Event.kind)  # "lead" < "sale"
    ).all()
    found: dict[str, tuple[str, str | None]] = {}
    for customer_id, kind, coupon_code in rows:
        found.setdefault(customer_id, (kind, coupon_code))
    return found


def customer_emails(session: Session, program_id: str, customers: dict[str, str]) -> dict[str, str]:
    """Customer id -> email, of `customers` (id -> external id). A customer keeps only a hash of the email
    tracking gave; the emails known are those the referral program stores: a referred friend's (given with
    their lead, to send their reward), else an advocate's."""
    if not customers:
        return {}
    emails: dict[str, str] = {}
    by_external = {external_id: customer_id for customer_id, external_id in customers.items()}
    advocates = session.execute(
        select(Advocate.customer_external_id, Advocate.email).where(
            Advocate.program_id == program_id, Advocate.customer_external_id.in_(by_external)
        )
    ).all()
    for external_id, email in advocates:
        emails[by_external[external_id]] = email
    friends = session.execute(
        select(Referral.friend_customer_id, Referral.friend_email).where(
            Referral.program_id == program_id,
            Referral.friend_customer_id.in_(customers),
            Referral.friend_email.is_not(None),
        )
    ).all()
    for customer_id, friend_email in friends:
        if friend_email:  # the email they gave with their own lead wins
            emails[customer_id] = friend_email
    return emails
