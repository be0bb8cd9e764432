"""Stripe: received webhook events (stored before they are processed) and the links between Stripe's
ids and ours (customers, payments, subscriptions, disputes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class StripeEvent(Base):
    """One webhook event as Stripe sent it; unique per program by Stripe's event id.

    status: received (queued) | waiting (for an object it refers to, named in waiting_for) |
    processed | ignored | failed.
    """

    __tablename__ = "stripe_events"
    __table_args__ = (
        UniqueConstraint("program_id", "event_id"),
        Index("ix_stripe_events_waiting", "program_id", "waiting_for"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    livemode: Mapped[bool]
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    waiting_for: Mapped[str | None] = mapped_column(String(300))
    created: Mapped[datetime | None]  # when Stripe created the event
    received_at: Mapped[datetime] = created_column()
    processed_at: Mapped[datetime | None]


class StripeCustomerLink(Base):
    """A Stripe customer and the external id of our customer it is (the Stripe id itself unless the
    Stripe metadata names another)."""

    __tablename__ = "stripe_customer_links"
    __table_args__ = (UniqueConstraint("program_id", "stripe_customer_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255))
    customer_external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_column()


class StripePaymentLink(Base):
    """A payment (payment intent or charge id) and the invoice id of the sale it paid."""

    __tablename__ = "stripe_payment_links"
    __table_args__ = (UniqueConstraint("program_id", "payment_ref"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    payment_ref: Mapped[str] = mapped_column(String(255))
    invoice_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = created_column()


class StripeSubscription(Base):
    """A subscription that ended: its later invoices earn no recurring commission."""

    __tablename__ = "stripe_subscriptions"
    __table_args__ = (UniqueConstraint("program_id", "subscription_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(String(255))
    ended_at: Mapped[datetime]
    created_at: Mapped[datetime] = created_column()


class StripeDispute(Base):
    """A dispute of a sale's payment: the commissions it put on hold and their status before."""

    __tablename__ = "stripe_disputes"
    __table_args__ = (UniqueConstraint("program_id", "dispute_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    dispute_id: Mapped[str] = mapped_column(String(255))
    invoice_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20))  # open | won | lost
    held: Mapped[dict[str, Any]] = mapped_column(default=dict)  # commission id -> status before the hold
    created_at: Mapped[datetime] = created_column()
    closed_at: Mapped[datetime | None]


class StripeCardSeen(Base):
    """A card that paid, by the sha256 of Stripe's card fingerprint (never the fingerprint itself), and who
    paid with it: our customer (external id) when the payment names one, and the sha256 of the payment's
    email (billing or receipt), so the partner's own card is known when the partner paid with it.

    holder: the customer's external id, else "email:<hash>": one row per card and holder."""

    __tablename__ = "stripe_cards_seen"
    __table_args__ = (
        UniqueConstraint("program_id", "fingerprint_hash", "holder"),
        Index("ix_stripe_cards_seen_customer", "program_id", "customer_external_id"),
        Index("ix_stripe_cards_seen_email", "program_id", "email_hash"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    fingerprint_hash: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str] = mapped_column(String(210))
    customer_external_id: Mapped[str | None] = mapped_column(String(200))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    payment_ref: Mapped[str | None] = mapped_column(String(255))  # the charge or payment intent that showed it
    seen_at: Mapped[datetime] = created_column()
