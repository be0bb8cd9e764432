"""Factories for payout tests: partners with payout methods and approved commissions, through the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.ledger import service as ledger
from partnerloop.models import Commission, LedgerEntry, Payout, PayoutItem, PayoutRun
from tests.commission.factories import make_partner
from tests.conftest import ProgramKeys


def partner_with_method(
    client: TestClient, program: ProgramKeys, method: dict[str, Any] | None = None, **fields: Any
) -> str:
    partner = make_partner(client, program, **fields)
    body = (
        method if method is not None else {"type": "paypal", "email": f"pay-{partner['id'][-6:].lower()}@example.com"}
    )
    response = client.put(f"/api/v1/partners/{partner['id']}/payout-method", json=body, headers=program.headers)
    assert response.status_code == 200, response.text
    return str(partner["id"])


def earn(client: TestClient, program: ProgramKeys, partner_id: str, amount: int, currency: str | None = None) -> str:
    body: dict[str, Any] = {"partner_id": partner_id, "amount": amount, "reason": "test earnings"}
    if currency:
        body["currency"] = currency
    response = client.post("/api/v1/commissions", json=body, headers=program.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def write_counts(engine: Engine) -> dict[str, int]:
    with transaction(engine, writes=False) as session:
        return {
            "runs": session.execute(select(func.count()).select_from(PayoutRun)).scalar_one(),
            "payouts": session.execute(select(func.count()).select_from(Payout)).scalar_one(),
            "items": session.execute(select(func.count()).select_from(PayoutItem)).scalar_one(),
            "ledger": session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one(),
            "paid_commissions": session.execute(
                select(func.count()).select_from(Commission).where(Commission.status == "paid")
            ).scalar_one(),
        }


def assert_exactly_once(engine: Engine, program_id: str) -> None:
    """No commission in two live payouts; every live payout's amount is its commissions' sum; every
    partner's ledger holds; paid commissions are exactly those in live payouts."""
    with transaction(engine, writes=False) as session:
        live = session.execute(
            select(PayoutItem.commission_id, func.count())
            .where(PayoutItem.released.is_(False))
            .group_by(PayoutItem.commission_id)
        ).all()
        assert all(count == 1 for _id, count in live)
        for payout in session.execute(select(Payout).where(Payout.program_id == program_id)).scalars():
            total = session.execute(
                select(func.coalesce(func.sum(PayoutItem.amount), 0)).where(
                    PayoutItem.payout_id == payout.id, PayoutItem.released.is_(payout.status in ("failed", "canceled"))
                )
            ).scalar_one()
            assert total == payout.source_amount, payout.id
        paid = set(session.execute(select(Commission.id).where(Commission.status == "paid")).scalars())
        assert paid == {row[0] for row in live}
        partners = set(
            session.execute(select(Commission.partner_id).where(Commission.program_id == program_id)).scalars()
        )
        for partner_id in partners:
            for balance in ledger.balances(session, program_id, partner_id):
                assert balance.holds, balance
