"""Stripe events and links: all SQL, scoped by program."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from partnerloop.db import insert_ignore, insert_or_get
from partnerloop.integrations.stripe.rules import EventStatus
from partnerloop.kit.ids import new_id
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import (
    StripeCardSeen,
    StripeCustomerLink,
    StripeDispute,
    StripeEvent,
    StripePaymentLink,
    StripeSubscription,
)


def insert_event(session: Session, values: dict[str, Any]) -> str | None:
    """Store the event unless the program has it already; its row id, or None for a repeat."""
    row_id = new_id()
    inserted = insert_ignore(session, StripeEvent, {"id": row_id, **values}, ["program_id", "event_id"])
    return row_id if inserted else None


def get_event(session: Session, program_id: str, row_id: str, *, lock: bool = False) -> StripeEvent | None:
    statement = select(StripeEvent).where(StripeEvent.program_id == program_id, StripeEvent.id == row_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def event_for_job(session: Session, row_id: str) -> StripeEvent | None:
    """The job's event (the job carries the program id with it)."""
    return session.execute(select(StripeEvent).where(StripeEvent.id == row_id).with_for_update()).scalar_one_or_none()


def list_events(
    session: Session, program_id: str, *, status: str | None, type_: str | None, cursor: str | None, limit: int
) -> tuple[list[StripeEvent], str | None]:
    statement = select(StripeEvent).where(StripeEvent.program_id == program_id)
    if status is not None:
        statement = statement.where(StripeEvent.status == status)
    if type_ is not None:
        statement = statement.where(StripeEvent.type == type_)
    rows = list(session.execute(paginate(statement, StripeEvent.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda row: row.id)


def wake_waiting(session: Session, program_id: str, keys: Sequence[str]) -> list[str]:
    """Events waiting for any of `keys` go back to received; their row ids."""
    if not keys:
        return []
    ids = list(
        session.execute(
            select(StripeEvent.id).where(
                StripeEvent.program_id == program_id,
                StripeEvent.status == EventStatus.WAITING.value,
                StripeEvent.waiting_for.in_(list(keys)),
            )
        ).scalars()
    )
    if ids:
        session.execute(update(StripeEvent).where(StripeEvent.id.in_(ids)).values(status="received", waiting_for=None))
    return ids


def click_waits(session: Session) -> list[tuple[str, str, datetime]]:
    """Events of every program waiting for a click: (row id, program id, received at), locked
    (skipping rows another transaction holds)."""
    rows = session.execute(
        select(StripeEvent.id, StripeEvent.program_id, StripeEvent.received_at)
        .where(StripeEvent.status == EventStatus.WAITING.value, StripeEvent.waiting_for.like("click:%"))
        .order_by(StripeEvent.id)
        .with_for_update(skip_locked=True)
    ).all()
    return [(row_id, program_id, received_at) for row_id, program_id, received_at in rows]


def wake_event(session: Session, row_id: str) -> bool:
    """A waiting event goes back to received; False when it was not waiting any more."""
    result = session.execute(
        update(StripeEvent)
        .where(StripeEvent.id == row_id, StripeEvent.status == EventStatus.WAITING.value)
        .values(status="received", waiting_for=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def linked_customer(session: Session, program_id: str, stripe_customer_id: str) -> str | None:
    external_id: str | None = session.execute(
        select(StripeCustomerLink.customer_external_id).where(
            StripeCustomerLink.program_id == program_id, StripeCustomerLink.stripe_customer_id == stripe_customer_id
        )
    ).scalar_one_or_none()
    return external_id


def link_customer(session: Session, program_id: str, stripe_customer_id: str, external_id: str) -> str:
    """Link the Stripe customer to our customer unless linked already (the first link stays); the linked id."""
    row, _created = insert_or_get(
        session,
        StripeCustomerLink,
        {
            "id": new_id(),
            "program_id": program_id,
            "stripe_customer_id": stripe_customer_id,
            "customer_external_id": external_id,
        },
        ["program_id", "stripe_customer_id"],
    )
    return str(row.customer_external_id)


def link_payments(session: Session, program_id: str, refs: Sequence[str], invoice_id: str) -> None:
    for ref in refs:
        insert_ignore(
            session,
            StripePaymentLink,
            {"id": new_id(), "program_id": program_id, "payment_ref": ref, "invoice_id": invoice_id},
            ["program_id", "payment_ref"],
        )


def invoice_of_payment(session: Session, program_id: str, refs: Sequence[str]) -> str | None:
    found: str | None = session.execute(
        select(StripePaymentLink.invoice_id)
        .where(StripePaymentLink.program_id == program_id, StripePaymentLink.payment_ref.in_(list(refs)))
        .limit(1)
    ).scalar_one_or_none()
    return found


def subscription_ended_at(session: Session, program_id: str, subscription_id: str) -> datetime | None:
    ended: datetime | None = session.execute(
        select(StripeSubscription.ended_at).where(
            StripeSubscription.program_id == program_id, StripeSubscription.subscription_id == subscription_id
        )
    ).scalar_one_or_none()
    return ended


def end_subscription(session: Session, program_id: str, subscription_id: str, ended_at: datetime) -> None:
    insert_ignore(
        session,
        StripeSubscription,
        {"id": new_id(), "program_id": program_id, "subscription_id": subscription_id, "ended_at": ended_at},
        ["program_id", "subscription_id"],
    )


def dispute_for(
    session: Session, program_id: str, dispute_id: str, invoice_id: str, status: str
) -> tuple[StripeDispute, bool]:
    """The dispute's row, created (with `status`) when new; (row, created). Locked on PostgreSQL."""
    values = {
        "id": new_id(),
        "program_id": program_id,
        "dispute_id": dispute_id,
        "invoice_id": invoice_id,
        "status": status,
        "held": {},
    }
    created = insert_ignore(session, StripeDispute, values, ["program_id", "dispute_id"])
    row = session.execute(
        select(StripeDispute)
        .where(StripeDispute.program_id == program_id, StripeDispute.dispute_id == dispute_id)
        .with_for_update()
    ).scalar_one()
    return row, created


def record_card(
    session: Session,
    program_id: str,
    fingerprint_hash: str,
    *,
    external_id: str | None,
    email_hash: str | None,
    payment_ref: str | None,
) -> bool:
    """Remember that this card paid for the customer (else for the email); True when it is new for them."""
    holder = external_id if external_id is not None else f"email:{email_hash}"
    values = {
        "id": new_id(), "program_id": program_id, "fingerprint_hash": fingerprint_hash, "holder": holder,
        "customer_external_id": external_id, "email_hash": email_hash, "payment_ref": payment_ref,
    }  # fmt: skip
    return insert_ignore(session, StripeCardSeen, values, ["program_id", "fingerprint_hash", "holder"])
