from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class LedgerEntry(Base):
    """One posting of a double-entry ledger kept per partner and currency (see ledger/rules.py).

    The postings of one ledger transaction (same `transaction_id`) sum to zero per currency. Rows are
    only ever inserted: a balance is a sum of postings, never a stored counter.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_balance", "program_id", "partner_id", "currency", "account"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    account: Mapped[str] = mapped_column(
        String(24)
    )  # partner_pending | partner_approved | partner_paid | commission_expense
    amount: Mapped[int] = mapped_column(BigInteger)  # signed minor units
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # earned | approved | held | rejected | reversed | adjusted | paid | payout_failed
    commission_id: Mapped[str | None] = mapped_column(ForeignKey("commissions.id"), index=True)
    payout_id: Mapped[str | None] = mapped_column(String(64), index=True)  # payouts live in their own domain
    transaction_id: Mapped[str] = mapped_column(String(26), index=True)
    memo: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = created_column()
