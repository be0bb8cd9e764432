"""The ledger's accounts and which postings a commission's life makes (pure).

Four accounts per program, partner and currency; amounts are signed minor units:

- `partner_pending`: earnings not yet payable (commissions pending or on hold);
- `partner_approved`: earnings payable by the next payout (may go below zero: a refund or clawback
  after payment is a negative posting that the next payout nets);
- `partner_paid`: what payouts have settled so far;
- `commission_expense`: the program's side, the mirror of every earning, reversal and adjustment.

Every ledger transaction's postings sum to zero, so over any set of transactions
pending + approved + paid = -expense, which gives the identity the tests hold after every step:

    pending + approved  ==  earned - reversed + adjusted - paid

where earned / reversed / adjusted are read from the expense postings by kind, paid from the paid
account. A commission's status says which account holds its earnings (`account_for`), so moving a
commission from one status to another is a transfer between two accounts (or to / from expense).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Account(StrEnum):
    PENDING = "partner_pending"
    APPROVED = "partner_approved"
    PAID = "partner_paid"
    EXPENSE = "commission_expense"


class EntryKind(StrEnum):
    EARNED = "earned"  # a commission was created (sale, lead, click, bonus)
    APPROVED = "approved"  # pending / on hold -> approved
    HELD = "held"  # approved -> on hold
    REJECTED = "rejected"  # pending / on hold -> rejected
    REVERSED = "reversed"  # a refund's reversal, or a fully reversed commission closing
    ADJUSTED = "adjusted"  # a manual commission or a clawback, by a person
    PAID = "paid"  # a payout settled approved earnings
    PAYOUT_FAILED = "payout_failed"  # a payout failed: its earnings are payable again

    @property
    def bucket(self) -> str:
        """Where an expense posting of this kind counts in a balance: earned, reversed or adjusted."""
        if self is EntryKind.EARNED:
            return "earned"
        if self is EntryKind.ADJUSTED:
            return "adjusted"
        return "reversed"


_STATUS_ACCOUNT: dict[str, Account | None] = {
    "pending": Account.PENDING,
    "on_hold": Account.PENDING,
    "approved": Account.APPROVED,
    "paid": Account.PAID,
    "reversed": None,
    "rejected": None,
}


def account_for(status: str) -> Account | None:
    """The partner account holding the earnings of a commission in `status` (None: nobody's)."""
    return _STATUS_ACCOUNT[status]


Posting = tuple[Account, int]


def creation_postings(status: str, earnings: int) -> list[Posting]:
    """A new commission of `earnings` (signed) in `status`: its account against expense."""
    account = account_for(status)
    if account is None or earnings == 0:
        return []
    return [(account, earnings), (Account.EXPENSE, -earnings)]


def transition_postings(old_status: str, new_status: str, earnings: int) -> list[Posting]:
    """A commission of `earnings` (signed) moving from `old_status` to `new_status`."""
    source, target = account_for(old_status), account_for(new_status)
    if source == target or earnings == 0:
        return []
    return [(source or Account.EXPENSE, -earnings), (target or Account.EXPENSE, earnings)]


def transition_kind(old_status: str, new_status: str) -> EntryKind:
    """The ledger kind of a status change."""
    if new_status == "approved":
        return EntryKind.PAYOUT_FAILED if old_status == "paid" else EntryKind.APPROVED
    return {
        "on_hold": EntryKind.HELD,
        "pending": EntryKind.HELD,
        "rejected": EntryKind.REJECTED,
        "reversed": EntryKind.REVERSED,
        "paid": EntryKind.PAID,
    }[new_status]


def is_balanced(postings: Iterable[tuple[str, int]]) -> bool:
    """Do the postings sum to zero per currency? (currency, amount) pairs."""
    totals: dict[str, int] = {}
    for currency, amount in postings:
        totals[currency] = totals.get(currency, 0) + amount
    return all(total == 0 for total in totals.values())


@dataclass(frozen=True)
class Balance:
    """A partner's balance in one currency, every figure a sum of postings."""

    currency: str
    pending_amount: int
    approved_amount: int
    paid_amount: int
    earned_amount: int
    reversed_amount: int
    adjusted_amount: int

    @property
    def available_amount(self) -> int:
        """What the next payout would pay (negative: what it must recover first)."""
        return self.approved_amount

    @property
    def balance_amount(self) -> int:
        """Owed and not yet paid: pending + approved."""
        return self.pending_amount + self.approved_amount

    @property
    def holds(self) -> bool:
        """The ledger identity: balance == earned - reversed + adjusted - paid."""
        return (
            self.balance_amount == self.earned_amount - self.reversed_amount + self.adjusted_amount - self.paid_amount
        )


def balance_from_sums(currency: str, sums: Mapping[tuple[str, str], int]) -> Balance:
    """A Balance from posting sums keyed by (account, kind)."""

    def account_total(account: Account) -> int:
        return sum(amount for (name, _kind), amount in sums.items() if name == account.value)

    def bucket_total(bucket: str) -> int:
        return sum(
            amount
            for (name, kind), amount in sums.items()
            if name == Account.EXPENSE.value and EntryKind(kind).bucket == bucket
        )

    return Balance(
        currency=currency,
        pending_amount=account_total(Account.PENDING),
        approved_amount=account_total(Account.APPROVED),
        paid_amount=account_total(Account.PAID),
        earned_amount=-bucket_total("earned"),
        reversed_amount=bucket_total("reversed"),
        adjusted_amount=-bucket_total("adjusted"),
    )
