"""Balances and ledger postings as the API gives them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class BalanceOut(BaseModel):
    currency: str
    pending_amount: int  # pending and on hold: not payable yet
    approved_amount: int  # payable
    paid_amount: int  # settled by payouts so far
    available_amount: int  # what the next payout would pay (negative: what it must recover first)
    balance_amount: int  # owed and not yet paid: pending + approved
    earned_amount: int
    reversed_amount: int
    adjusted_amount: int


class BalanceList(BaseModel):
    partner_id: str
    data: list[BalanceOut]
    next_cursor: str | None = None


class LedgerEntryOut(BaseModel):
    id: str
    partner_id: str
    currency: str
    account: str
    amount: int
    kind: str
    commission_id: str | None
    payout_id: str | None
    transaction_id: str
    memo: str
    actor: str
    created_at: datetime


class LedgerEntryList(BaseModel):
    data: list[LedgerEntryOut]
    next_cursor: str | None
