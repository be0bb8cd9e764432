"""GET /api/v1/partners/{id}/balance and /ledger: sums of postings, and the postings themselves."""

from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.deps import Api
from partnerloop.kit.money import normalize_currency
from partnerloop.ledger import repository, service
from partnerloop.ledger.rules import Balance
from partnerloop.ledger.schemas import BalanceList, BalanceOut, LedgerEntryList, LedgerEntryOut
from partnerloop.partner.service import get_partner

router = APIRouter(prefix="/api/v1/partners", tags=["ledger"])


def balance_out(balance: Balance) -> BalanceOut:
    return BalanceOut(
        currency=balance.currency,
        pending_amount=balance.pending_amount,
        approved_amount=balance.approved_amount,
        paid_amount=balance.paid_amount,
        available_amount=balance.available_amount,
        balance_amount=balance.balance_amount,
        earned_amount=balance.earned_amount,
        reversed_amount=balance.reversed_amount,
        adjusted_amount=balance.adjusted_amount,
    )


@router.get("/{partner_id}/balance", summary="Get a partner's balance")
def get_balance(partner_id: str, api: Api) -> BalanceList:
    """Per currency (the program's always first): pending, approved, paid and available amounts."""
    get_partner(api.session, api.program, partner_id)
    found = {balance.currency: balance for balance in service.balances(api.session, api.program.id, partner_id)}
    if api.program.currency not in found:
        found[api.program.currency] = service.balance(api.session, api.program.id, partner_id, api.program.currency)
    ordered = [found.pop(api.program.currency), *(found[currency] for currency in sorted(found))]
    return BalanceList(partner_id=partner_id, data=[balance_out(balance) for balance in ordered])


@router.get("/{partner_id}/ledger", summary="List a partner's ledger postings")
def list_ledger_entries(
    partner_id: str,
    api: Api,
    currency: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> LedgerEntryList:
    """The partner's postings, newest first."""
    get_partner(api.session, api.program, partner_id)
    code = normalize_currency(currency) if currency else None
    rows, next_cursor = repository.list_entries(
        api.session, api.program.id, partner_id, currency=code, cursor=cursor, limit=limit
    )
    return LedgerEntryList(
        data=[
            LedgerEntryOut(
                id=row.id,
                partner_id=row.partner_id,
                currency=row.currency,
                account=row.account,
                amount=row.amount,
                kind=row.kind,
                commission_id=row.commission_id,
                payout_id=row.payout_id,
                transaction_id=row.transaction_id,
                memo=row.memo,
                actor=row.actor,
                created_at=row.created_at,
            )
            for row in rows
        ],
        next_cursor=next_cursor,
    )
