"""The ledger's invariants, checked against the real database after any change."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.ledger import service as ledger
from partnerloop.ledger.rules import Account, account_for
from partnerloop.models import Commission, LedgerEntry

PARTNER_ACCOUNTS = (Account.PENDING.value, Account.APPROVED.value, Account.PAID.value)


def check_ledger(engine: Engine, program_id: str) -> None:
    """Raise AssertionError unless, for the program:

    - every ledger transaction's postings sum to zero per currency;
    - every partner balance holds: pending + approved == earned - reversed + adjusted - paid;
    - each account holds exactly the earnings of the commissions whose status maps to it;
    - each commission's partner-side postings sum to its earnings while owed, to zero once not
      (a commission counted twice, or never, shows here);
    - reversals and clawbacks never take back more than their commission earned.
    """
    with transaction(engine, writes=False) as session:
        unbalanced = session.execute(
            select(LedgerEntry.transaction_id, LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.program_id == program_id)
            .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
            .having(func.sum(LedgerEntry.amount) != 0)
        ).all()
        assert unbalanced == [], f"unbalanced ledger transactions: {unbalanced}"

        commissions = list(session.execute(select(Commission).where(Commission.program_id == program_id)).scalars())
        expected: dict[tuple[str, str, str], int] = defaultdict(int)
        for commission in commissions:
            account = account_for(commission.status)
            if account is not None:
                expected[(commission.partner_id, commission.earnings_currency, account.value)] += (
                    commission.earnings_amount
                )
        partners = {commission.partner_id for commission in commissions} | set(
            session.execute(select(LedgerEntry.partner_id).where(LedgerEntry.program_id == program_id)).scalars()
        )
        for partner_id in partners:
            for balance in ledger.balances(session, program_id, partner_id):
                assert balance.holds, f"balance identity broken for {partner_id}: {balance}"
                for account, amount in (
                    (Account.PENDING, balance.pending_amount),
                    (Account.APPROVED, balance.approved_amount),
                    (Account.PAID, balance.paid_amount),
                ):
                    want = expected.get((partner_id, balance.currency, account.value), 0)
                    assert amount == want, f"{partner_id} {balance.currency} {account.value}: {amount} != {want}"

        per_commission = dict(
            session.execute(
                select(LedgerEntry.commission_id, func.sum(LedgerEntry.amount))
                .where(
                    LedgerEntry.program_id == program_id,
                    LedgerEntry.commission_id.is_not(None),
                    LedgerEntry.account.in_(PARTNER_ACCOUNTS),
                )
                .group_by(LedgerEntry.commission_id)
            ).all()
        )
        taken: dict[str, int] = defaultdict(int)
        for commission in commissions:
            owed = commission.earnings_amount if account_for(commission.status) is not None else 0
            assert int(per_commission.get(commission.id, 0)) == owed, (
                f"commission {commission.id} ({commission.kind}, {commission.status}) is in the ledger as "
                f"{per_commission.get(commission.id, 0)}, not {owed}"
            )
            if commission.reverses_id:
                taken[commission.reverses_id] -= commission.earnings_amount
        by_id = {commission.id: commission for commission in commissions}
        for original_id, total in taken.items():
            assert 0 < total <= by_id[original_id].earnings_amount, f"{original_id}: {total} taken back"
