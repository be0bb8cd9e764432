from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


# The statuses and kinds of a commission row: here, beside its table, so that every domain that reads
# commissions (the plan simulator, payouts, pages) compares through them without importing `commission`.
class CommissionStatus(StrEnum):
    PENDING = "pending"
    ON_HOLD = "on_hold"
    APPROVED = "approved"
    PAID = "paid"
    REVERSED = "reversed"
    REJECTED = "rejected"

    @property
    def is_payable(self) -> bool:
        """Approved commissions (past their hold: see `is_payable_at`) go into the next payout."""
        return self is CommissionStatus.APPROVED

    @property
    def is_owed(self) -> bool:
        """Still earnings of the partner: a refund reverses these, and only these."""
        return self not in (CommissionStatus.REJECTED, CommissionStatus.REVERSED)

    @property
    def is_paid(self) -> bool:
        return self is CommissionStatus.PAID


class CommissionKind(StrEnum):
    CLICK = "click"
    LEAD = "lead"
    SALE = "sale"
    REVERSAL = "reversal"  # a refund's share of a sale commission (negative)
    BONUS = "bonus"  # a plan bonus, once per partner, bonus and period
    MANUAL = "manual"  # made by a person: positive, or negative (a clawback of no commission in particular)
    CLAWBACK = "clawback"  # a person took back (part of) a commission (negative)

    @property
    def follows_original(self) -> bool:
        """Reversals and clawbacks take their status from the commission they reverse."""
        return self in (CommissionKind.REVERSAL, CommissionKind.CLAWBACK)

    @property
    def can_be_clawed_back(self) -> bool:
        return self not in (CommissionKind.REVERSAL, CommissionKind.CLAWBACK)


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
    __table_args__ = (
        UniqueConstraint("program_id", "kind", "business_key"),
        Index("ix_events_partner_volume", "partner_id", "kind", "occurred_at"),
        Index("ix_events_program_window", "program_id", "occurred_at"),
        Index("ix_events_awaiting_rate", "awaiting_rate", "program_id"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # lead | sale | refund
    business_key: Mapped[str] = mapped_column(String(300))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    program_amount: Mapped[int | None] = mapped_column(BigInteger)  # amount in the program's currency
    fx_rate: Mapped[str | None] = mapped_column(String(40))  # exact decimal text; None when no conversion
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))  # credited when it happened
    invoice_id: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[str | None] = mapped_column(String(200))
    coupon_code: Mapped[str | None] = mapped_column(String(100))
    click_id: Mapped[str | None] = mapped_column(String(64))
    sale_event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))  # why it earned nothing, as first answered
    # A sale recorded while its currency had no rate to the program's: program_amount is 0 and it earned
    # nothing yet; conversion.price_waiting_sales prices it (once) when a rate for its day arrives.
    awaiting_rate: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = created_column()


class Commission(Base):
    """Earnings owed to a partner for one event, with the rule and inputs that produced them.

    A refund is a reversal row (negative earnings, reverses_id set); the original is never edited
    in amount. A bonus has no event of its own (trigger_event_id is the sale that reached the
    threshold) and is unique per partner by bonus_key (plan, bonus name, period).
    """

    __tablename__ = "commissions"
    __table_args__ = (
        UniqueConstraint("event_id", "partner_id", "reverses_id"),
        UniqueConstraint("program_id", "partner_id", "bonus_key"),
        # Few indexes, since a payout run rewrites every paid row in each: program_id and event_id
        # lookups use the unique keys above, status and hold_until share one index, and only bonuses
        # have a trigger event.
        Index("ix_commissions_status_hold_until", "status", "hold_until"),
        Index(
            "ix_commissions_trigger_event_id",
            "trigger_event_id",
            sqlite_where=text("trigger_event_id IS NOT NULL"),
            postgresql_where=text("trigger_event_id IS NOT NULL"),
        ),
        # The commissions list's default order, when it happened (newest first), read from the index and
        # stopped at the page instead of sorting a million rows; windows on that moment use it too.
        Index("ix_commissions_program_moment", "program_id", text("coalesce(occurred_at, created_at)"), "id"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"))
    click_id: Mapped[str | None] = mapped_column(ForeignKey("clicks.id"))
    kind: Mapped[str] = mapped_column(String(10))  # click | lead | sale | reversal | bonus | manual | clawback
    reverses_id: Mapped[str] = mapped_column(String(26), default="")  # "" keeps the unique key usable
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    earnings_amount: Mapped[int] = mapped_column(BigInteger)
    earnings_currency: Mapped[str] = mapped_column(String(3))
    program_amount: Mapped[int | None] = mapped_column(BigInteger)  # the sale in the program's currency
    fx_rate: Mapped[str | None] = mapped_column(String(40))  # exact decimal text; None when no conversion
    status: Mapped[str] = mapped_column(String(12))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"))
    rule_index: Mapped[int | None]
    rule: Mapped[dict[str, Any] | None] = mapped_column()  # the rule as it was, so plan edits change nothing
    explanation: Mapped[str] = mapped_column(String(1000))
    explanation_data: Mapped[dict[str, Any] | None] = mapped_column()  # the same, as structured data
    occurred_at: Mapped[datetime | None] = mapped_column(index=True)  # when the event happened
    trigger_event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"))
    bonus_key: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(500))  # manual commissions and clawbacks
    created_by: Mapped[str | None] = mapped_column(String(200))  # who made it, when a person did
    hold_until: Mapped[datetime]
    created_at: Mapped[datetime] = created_column()
    status_changed_at: Mapped[datetime | None]
