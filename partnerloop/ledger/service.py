"""The ledger: double-entry postings per program, partner and currency (accounts in ledger/rules.py).

Every posting is written in the caller's transaction, next to the change it records, and is never
updated or deleted. The API, for the commission domain and for payouts:

- `post_commission_created(session, commission, actor=...)`: a new commission's earnings enter the
  account of its status (kind `earned`, or `reversed` for a refund's reversal, `adjusted` for a
  manual commission or clawback).
  `post_commissions_created(session, commissions, actor=...)` does the same for many in one INSERT.
- `post_status_change(session, commission, old_status, actor=...)`: after `commission.status` changed,
  its earnings move to the new status's account (`approved`, `held`, `rejected`, `reversed`, `paid`…).
- `post_status_changes(session, changes, actor=...)`: the same for many commissions at once (the
  hold-period approval job).
- `post_run_payouts(session, *, program_id, run_id, actor)`: the one way a payout is recorded: every
  payout of a confirmed run (a retry is a run of one payout) settles its source amount (approved ->
  paid), one ledger transaction per payout, in one INSERT … SELECT; returns how many were posted.
  Called by `commission.service.mark_paid`, which also sets the commissions' status.
- `post_payout_failed(session, *, payout_id, program_id, actor)`: a failed payout's postings are
  undone (paid back to approved, kind `payout_failed`); returns the commission ids it had settled.
  Payouts should call `commission.service.mark_payout_failed`, which also sets their status back.
- `balances(session, program_id, partner_id)` / `balance(…, currency)`: sums of postings per currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from partnerloop.kit.errors import Conflict, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.ledger import repository
from partnerloop.ledger.rules import (
    Account,
    Balance,
    EntryKind,
    Posting,
    balance_from_sums,
    creation_postings,
    transition_kind,
    transition_postings,
)
from partnerloop.models import Commission, LedgerEntry

SYSTEM = "system"


class LedgerError(Conflict):
    pass


class PayoutAlreadyFailed(LedgerError):
    pass


class PayoutNotPosted(NotFound):
    pass


def _rows(
    *,
    transaction_id: str,
    program_id: str,
    partner_id: str,
    currency: str,
    postings: Sequence[Posting],
    kind: EntryKind,
    actor: str,
    memo: str = "",
    commission_id: str | None = None,
    payout_id: str | None = None,
) -> list[dict[str, Any]]:
    now = utc_now()
    return [
        {
            "id": new_id(),
            "program_id": program_id,
            "partner_id": partner_id,
            "currency": currency,
            "account": account.value,
            "amount": amount,
            "kind": kind.value,
            "commission_id": commission_id,
            "payout_id": payout_id,
            "transaction_id": transaction_id,
            "memo": memo[:500],
            "actor": actor[:200],
            "created_at": now,
        }
        for account, amount in postings
    ]


def _creation_kind(commission: NewCommission) -> EntryKind:
    if commission.kind in ("manual", "clawback"):
        return EntryKind.ADJUSTED
    if commission.kind == "reversal":
        return EntryKind.REVERSED
    return EntryKind.EARNED


class NewCommission(Protocol):
    """What posting a new commission reads of it (a Commission, or a row a batch inserted)."""

    @property
    def id(self) -> str: ...
    @property
    def program_id(self) -> str: ...
    @property
    def partner_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def earnings_amount(self) -> int: ...
    @property
    def earnings_currency(self) -> str: ...
    @property
    def explanation(self) -> str: ...


def _creation_rows(commission: NewCommission, actor: str) -> list[dict[str, Any]]:
    """A new commission's postings (one ledger transaction), or none when it earns nothing."""
    postings = creation_postings(commission.status, commission.earnings_amount)
    if not postings:
        return []
    return _rows(
        transaction_id=new_id(),
        program_id=commission.program_id,
        partner_id=commission.partner_id,
        currency=commission.earnings_currency,
        postings=postings,
        kind=_creation_kind(commission),
        actor=actor,
        memo=commission.explanation,
        commission_id=commission.id,
    )


def post_commission_created(session: Session, commission: Commission, *, actor: str = SYSTEM) -> str | None:
    """Post a new commission's earnings; the ledger transaction id (None when nothing to post)."""
    rows = _creation_rows(commission, actor)
    repository.insert_entries(session, rows)
    return rows[0]["transaction_id"] if rows else None


def post_commissions_created(session: Session, commissions: Iterable[NewCommission], *, actor: str = SYSTEM) -> None:
    """`post_commission_created` for many new commissions in one INSERT (a click batch's rewards)."""
    repository.insert_entries(session, [row for commission in commissions for row in _creation_rows(commission, actor)])


@dataclass(frozen=True)
class StatusChange:
    """A commission whose status changed, as the ledger needs it."""

    commission_id: str
    program_id: str
    partner_id: str
    currency: str
    earnings: int
    old_status: str
    new_status: str


def change_of(commission: Commission, old_status: str) -> StatusChange:
    return StatusChange(
        commission.id,
        commission.program_id,
        commission.partner_id,
        commission.earnings_currency,
        commission.earnings_amount,
        old_status,
        commission.status,
    )


def post_status_changes(
    session: Session, changes: Iterable[StatusChange], *, actor: str = SYSTEM, memo: str = ""
) -> int:
    """One balanced ledger transaction per commission whose account changes; how many were posted."""
    rows: list[dict[str, Any]] = []
    posted = 0
    for change in changes:
        postings = transition_postings(change.old_status, change.new_status, change.earnings)
        if not postings:
            continue
        posted += 1
        rows += _rows(
            transaction_id=new_id(),
            program_id=change.program_id,
            partner_id=change.partner_id,
            currency=change.currency,
            postings=postings,
            kind=transition_kind(change.old_status, change.new_status),
            actor=actor,
            memo=memo or f"{change.old_status} -> {change.new_status}",
            commission_id=change.commission_id,
        )
    repository.insert_entries(session, rows)
    return posted


def post_status_change(session: Session, commission: Commission, old_status: str, *, actor: str = SYSTEM) -> None:
    """Post the move of `commission`'s earnings from `old_status`'s account to its current status's."""
    post_status_changes(session, [change_of(commission, old_status)], actor=actor)


class RunAlreadyPosted(LedgerError):
    pass


def post_run_payouts(session: Session, *, program_id: str, run_id: str, actor: str = SYSTEM) -> int:
    """Settle every payout of a run in one statement: each payout's `source_amount` moves from approved to
    paid in its source currency, one balanced ledger transaction (two postings) per payout with a
    non-zero amount. The payouts must hold their final source amounts. Raises RunAlreadyPosted when a
    payout of the run has postings already. Returns how many payouts were posted."""
    if repository.run_has_entries(session, program_id, run_id):
        raise RunAlreadyPosted(f"The payouts of run {run_id} were posted to the ledger already.")
    # Ids made in SQL: 17 characters of a fresh ULID (time-ordered, unique) + a 9-digit row number.
    postings = [(Account.APPROVED.value, -1), (Account.PAID.value, 1)]
    inserted = repository.insert_run_payout_entries(
        session,
        program_id=program_id,
        run_id=run_id,
        postings=postings,
        kind=EntryKind.PAID.value,
        entry_prefix=new_id()[:17],
        transaction_prefix=new_id()[:17],
        actor=actor,
        now=utc_now(),
    )
    return inserted // len(postings)


def post_payout_failed(session: Session, *, payout_id: str, program_id: str, actor: str = SYSTEM) -> list[str]:
    """Undo a payout's postings (paid back to approved); the commission ids it had settled.

    Raises PayoutAlreadyFailed when it was undone before, PayoutNotPosted when nothing was paid by it.
    """
    entries: list[LedgerEntry] = repository.payout_entries(session, program_id, payout_id)
    if not entries:
        raise PayoutNotPosted(f"Payout {payout_id} has no postings in this program.")
    if any(entry.kind == EntryKind.PAYOUT_FAILED for entry in entries):
        raise PayoutAlreadyFailed(f"Payout {payout_id} was marked failed already.")
    transaction_id = new_id()
    rows: list[dict[str, Any]] = []
    commission_ids: list[str] = []
    for entry in entries:
        if entry.account != Account.PAID.value:
            continue
        if entry.commission_id:
            commission_ids.append(entry.commission_id)
        rows += _rows(
            transaction_id=transaction_id,
            program_id=program_id,
            partner_id=entry.partner_id,
            currency=entry.currency,
            postings=[(Account.PAID, -entry.amount), (Account.APPROVED, entry.amount)],
            kind=EntryKind.PAYOUT_FAILED,
            actor=actor,
            memo=f"payout {payout_id} failed",
            commission_id=entry.commission_id,
            payout_id=payout_id,
        )
    repository.insert_entries(session, rows)
    return commission_ids


def balances(session: Session, program_id: str, partner_id: str) -> list[Balance]:
    """The partner's balance in every currency it has postings in, by currency."""
    sums = repository.sums_by_account_and_kind(session, program_id, partner_id)
    return [balance_from_sums(currency, sums[currency]) for currency in sorted(sums)]


def balance(session: Session, program_id: str, partner_id: str, currency: str) -> Balance:
    sums = repository.sums_by_account_and_kind(session, program_id, partner_id, currency)
    return balance_from_sums(currency, sums.get(currency, {}))
