from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class Customer(Base):
    """The merchant's end customer, and the partner credited with them."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("program_id", "external_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    click_id: Mapped[str | None] = mapped_column(ForeignKey("clicks.id"))
    attributed_at: Mapped[datetime | None]
    attribution: Mapped[str | None] = mapped_column(String(300))  # how: "click 01j… on link spring"
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime] = created_column()


class Event(Base):
    """A lead, sale or refund; the unique business key makes any number of retries one row."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("program_id", "kind", "business_key"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # lead | sale | refund
    business_key: Mapped[str] = mapped_column(String(300))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    invoice_id: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[str | None] = mapped_column(String(200))
    coupon_code: Mapped[str | None] = mapped_column(String(100))
    click_id: Mapped[str | None] = mapped_column(String(26))
    sale_event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))  # why it earned nothing, as first answered
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = created_column()


class Commission(Base):
    """Earnings owed to a partner for one event, with the rule and inputs that produced them.

    A refund is a reversal row (negative earnings, reverses_id set); the original is never edited
    in amount.
    """

    __tablename__ = "commissions"
    __table_args__ = (UniqueConstraint("event_id", "partner_id", "reverses_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), index=True)
    click_id: Mapped[str | None] = mapped_column(ForeignKey("clicks.id"))
    kind: Mapped[str] = mapped_column(String(10))  # click | lead | sale | reversal
    reverses_id: Mapped[str] = mapped_column(String(26), default="")  # "" keeps the unique key usable
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    earnings_amount: Mapped[int] = mapped_column(BigInteger)
    earnings_currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), index=True)
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"))
    rule_index: Mapped[int | None]
    rule: Mapped[dict[str, Any] | None] = mapped_column()  # the rule as it was, so plan edits change nothing
    explanation: Mapped[str] = mapped_column(String(1000))
    hold_until: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = created_column()
    status_changed_at: Mapped[datetime | None]
