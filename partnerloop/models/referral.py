"""Customer referrals: advocates (customers who refer friends), the friends they referred, and the
double-sided rewards those referrals earn. Written by partnerloop/referral/ only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, Int64, created_column, id_column


class Advocate(Base):
    """An existing customer of the merchant who refers friends. Backed by a partner, an enrollment of
    kind `advocate` and a link of their own, so that clicks, attribution and coupons work unchanged."""

    __tablename__ = "advocates"
    __table_args__ = (
        UniqueConstraint("program_id", "customer_external_id"),
        UniqueConstraint("program_id", "partner_id"),
        UniqueConstraint("share_key"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    link_id: Mapped[str] = mapped_column(ForeignKey("links.id"))
    customer_external_id: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the normalized email
    name: Mapped[str | None] = mapped_column(String(200))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    referral_code: Mapped[str] = mapped_column(String(64))
    share_key: Mapped[str] = mapped_column(String(64))  # the key of the advocate's link: /r/{share_key}
    created_at: Mapped[datetime] = created_column()


class Referral(Base):
    """A friend (the program's customer) credited to an advocate: one row per advocate and friend."""

    __tablename__ = "referrals"
    __table_args__ = (UniqueConstraint("advocate_id", "friend_customer_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    advocate_id: Mapped[str] = mapped_column(ForeignKey("advocates.id"), index=True)
    friend_customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    friend_external_id: Mapped[str] = mapped_column(String(200))
    friend_email_key: Mapped[str | None] = mapped_column(String(64))
    friend_email: Mapped[str | None] = mapped_column(String(320))  # to send the friend their reward
    first_lead_at: Mapped[datetime | None]
    first_sale_at: Mapped[datetime | None]
    sales_count: Mapped[int] = mapped_column(Int64, default=0)
    revenue_amount: Mapped[int] = mapped_column(BigInteger, default=0)  # program currency, net of nothing
    created_at: Mapped[datetime] = created_column()


class Reward(Base):
    """One side's reward for one referred friend: `referrer` (the advocate) or `friend`.

    status: pending (waiting for its hold, for Stripe or for mark-issued) | issued | failed | rejected.
    """

    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("referral_id", "side"),
        Index("ix_rewards_program_status", "program_id", "status"),
        Index("ix_rewards_status_due_at", "status", "due_at"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    advocate_id: Mapped[str] = mapped_column(ForeignKey("advocates.id"), index=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"))
    side: Mapped[str] = mapped_column(String(10))  # referrer | friend
    type: Mapped[str] = mapped_column(String(12))  # credit | coupon | cash | percent_off | amount_off
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    percent: Mapped[int | None] = mapped_column(Integer)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(500))
    external_ref: Mapped[str | None] = mapped_column(String(255))
    trigger_event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id"), index=True)
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    issued_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
