"""Payouts: partners' payout details, payout runs, payouts and the commissions inside each one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, Int64, created_column, id_column


class PayoutSettings(Base):
    """A program's payout schedule and its own provider secrets (encrypted at rest)."""

    __tablename__ = "payout_settings"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    schedule: Mapped[str] = mapped_column(String(12), default="manual")  # manual | monthly
    day_of_month: Mapped[int] = mapped_column(Integer, default=1)
    net_days: Mapped[int] = mapped_column(Integer, default=15)
    stripe_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class PayoutMethod(Base):
    """How a partner is paid in one program: method, currency, details and tax data.

    Sensitive values (IBAN, account numbers, tax ids, addresses) are Fernet-encrypted JSON; the
    masked copies are what any page or API shows.
    """

    __tablename__ = "payout_methods"
    __table_args__ = (UniqueConstraint("program_id", "partner_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))  # paypal | wise | stripe_connect | manual
    currency: Mapped[str] = mapped_column(String(3))
    details_encrypted: Mapped[str] = mapped_column(Text)
    details_masked: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tax_encrypted: Mapped[str | None] = mapped_column(Text)
    tax_masked: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class PayoutRun(Base):
    """One payout run, identified per program by its run key (a confirmed run exists once)."""

    __tablename__ = "payout_runs"
    __table_args__ = (UniqueConstraint("program_id", "run_key"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    run_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))  # confirmed
    cutoff: Mapped[datetime]  # commissions past their hold by then, created by then
    skipped: Mapped[list[Any]] = mapped_column(default=list)  # [{"partner_id", "reason", ...}]
    created_by: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = created_column()


class Payout(Base):
    """One transfer to one partner in one currency, from one run (or a retry of a failed payout)."""

    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("run_id", "partner_id", "source_currency"),
        Index("ix_payouts_program_partner", "program_id", "partner_id"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("payout_runs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # in `currency`, what the partner receives
    currency: Mapped[str] = mapped_column(String(3))
    source_amount: Mapped[int] = mapped_column(BigInteger)  # the netted commissions, in their currency
    source_currency: Mapped[str] = mapped_column(String(3))
    fx_rate: Mapped[str | None] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending|processing|paid|failed|canceled
    delivery: Mapped[str] = mapped_column(String(8), default="csv")  # api | csv: payout/rules.Delivery
    commission_count: Mapped[int] = mapped_column(Int64, default=0)
    provider_batch_id: Mapped[str | None] = mapped_column(String(100), index=True)  # our sender_batch_id
    provider_reference: Mapped[str | None] = mapped_column(String(200))
    failure_reason: Mapped[str | None] = mapped_column(String(1000))
    retry_of_id: Mapped[str | None] = mapped_column(String(26), unique=True)
    created_at: Mapped[datetime] = created_column()
    sent_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]


class PayoutItem(Base):
    """A commission inside a payout. A commission is in at most one payout that was not released
    (failed or canceled): the partial unique index says so to the database."""

    __tablename__ = "payout_items"
    __table_args__ = (
        Index(
            "uq_payout_items_active_commission",
            "commission_id",
            unique=True,
            sqlite_where=text("released = 0"),
            postgresql_where=text("released = false"),
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(String(26))
    payout_id: Mapped[str] = mapped_column(ForeignKey("payouts.id"), index=True)
    commission_id: Mapped[str] = mapped_column(ForeignKey("commissions.id"))
    amount: Mapped[int] = mapped_column(BigInteger)  # the commission's earnings, signed
    released: Mapped[bool] = mapped_column(default=False)


class ProviderBatch(Base):
    """A batch sent to a provider (PayPal): our sender_batch_id, PayPal's payout_batch_id, its status."""

    __tablename__ = "payout_provider_batches"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # sender_batch_id
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_batch_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="created")  # created | sent | done
    created_at: Mapped[datetime] = created_column()
