"""POST /api/v1/track/refund: proportional reversals, idempotency, refusals."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.commission.factories import counts, make_partner, make_plan, set_commission_status
from tests.conftest import ProgramKeys


def sold(client: TestClient, program: ProgramKeys, amount: int = 4900) -> dict[str, Any]:
    """A program with the Standard plan, a partner's customer and one sale; the sale's answer."""
    make_plan(client, program)
    make_partner(client, program, referral_code="JANE10")
    assert (
        client.post(
            "/api/v1/track/lead",
            json={"customer_external_id": "cus_1", "referral_code": "JANE10"},
            headers=program.headers,
        ).status_code
        == 200
    )
    response = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_1", "amount": amount, "currency": "usd", "invoice_id": "in_1"},
        headers=program.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refund(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    return client.post("/api/v1/track/refund", json={"invoice_id": "in_1", **body}, headers=program.headers)


def commission(client: TestClient, program: ProgramKeys, commission_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/commissions/{commission_id}", headers=program.headers).json()
    return body


# (refund amounts in order; None = what is left) -> each refund's reversal earnings; the original's final status
REFUNDS = [
    pytest.param([None], [-980], "reversed", id="a full refund reverses all earnings"),
    pytest.param([2450], [-490], "pending", id="a partial refund reverses its share"),
    pytest.param(
        [1000, 1000, 2900],
        [-200, -200, -580],
        "reversed",
        id="partial refunds that add up to the sale reverse exactly the earnings",
    ),
    pytest.param([1000, None], [-200, -780], "reversed", id="a partial refund then the rest"),
]


@pytest.mark.parametrize(("amounts", "reversals", "final_status"), REFUNDS)
def test_refund_reverses_proportionally(
    client: TestClient, program: ProgramKeys, amounts: list[int | None], reversals: list[int], final_status: str
) -> None:
    [original] = sold(client, program)["commissions"]
    seen = []
    for amount in amounts:
        response = refund(client, program, **({} if amount is None else {"amount": amount}))
        assert response.status_code == 200, response.text
        [reversal] = response.json()["commissions"]
        assert reversal["kind"] == "reversal"
        assert reversal["reverses_id"] == original["id"]
        assert reversal["partner_id"] == original["partner_id"]
        seen.append(reversal["earnings_amount"])
    assert seen == reversals
    assert sum(seen) >= -980
    assert commission(client, program, original["id"])["status"] == final_status
    listed = client.get("/api/v1/commissions", params={"kind": "reversal"}, headers=program.headers).json()["data"]
    assert {row["status"] for row in listed} == {final_status}


def test_refund_explains_what_it_reverses(client: TestClient, program: ProgramKeys) -> None:
    sold(client, program)
    body = refund(client, program, amount=2450).json()
    assert body["refund"]["amount"] == 2450
    assert body["sale"]["invoice_id"] == "in_1"
    assert body["commissions"][0]["explanation"] == (
        "Refund of 24.50 USD of 49.00 USD (invoice in_1) reverses 4.90 USD of 9.80 USD"
    )


def test_refund_beyond_what_is_left_is_a_conflict_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    sold(client, program)
    assert refund(client, program, amount=4000).status_code == 200
    before = counts(engine)
    response = refund(client, program, amount=1000)
    assert response.status_code == 409
    assert response.json() == {
        "error": "RefundExceedsSale",
        "detail": "A refund of 10.00 USD is more than what is left to refund: 9.00 USD of 49.00 USD.",
    }
    assert counts(engine) == before


def test_refund_of_a_fully_refunded_sale_is_a_conflict(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    sold(client, program)
    assert refund(client, program, amount=4900).status_code == 200
    before = counts(engine)
    response = refund(client, program)
    assert response.status_code == 409
    assert response.json()["error"] == "RefundExceedsSale"
    assert counts(engine) == before


def test_the_same_refund_id_answers_the_same_refund(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    sold(client, program)
    first = refund(client, program, amount=1000, refund_id="re_1")
    before = counts(engine)
    again = refund(client, program, amount=1000, refund_id="re_1")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["refund"]["refund_id"] == "re_1"
    assert counts(engine) == before
    conflict = refund(client, program, amount=2000, refund_id="re_1")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "RefundConflict"
    assert counts(engine) == before


def test_a_full_refund_again_answers_the_first(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    sold(client, program)
    first = refund(client, program)
    before = counts(engine)
    assert refund(client, program).json() == first.json()
    assert counts(engine) == before


def test_refund_of_an_approved_commission_is_an_approved_reversal_until_fully_reversed(
    client: TestClient, program: ProgramKeys
) -> None:
    [original] = sold(client, program)["commissions"]
    assert client.post(f"/api/v1/commissions/{original['id']}/approve", headers=program.headers).status_code == 200
    [partial] = refund(client, program, amount=1000).json()["commissions"]
    assert partial["status"] == "approved"
    assert commission(client, program, original["id"])["status"] == "approved"
    refund(client, program)
    assert commission(client, program, original["id"])["status"] == "reversed"
    assert commission(client, program, partial["id"])["status"] == "reversed"


def test_refund_of_a_paid_commission_never_edits_it(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    [original] = sold(client, program)["commissions"]
    set_commission_status(engine, original["id"], "paid")
    [reversal] = refund(client, program).json()["commissions"]
    assert (reversal["earnings_amount"], reversal["status"]) == (-980, "approved")
    assert commission(client, program, original["id"]) == {**original, "status": "paid"}


def test_refund_of_a_rejected_commission_reverses_nothing(client: TestClient, program: ProgramKeys) -> None:
    [original] = sold(client, program)["commissions"]
    client.post(f"/api/v1/commissions/{original['id']}/reject", headers=program.headers)
    body = refund(client, program).json()
    assert body["commissions"] == []
    assert body["refund"]["amount"] == 4900


BAD_REFUNDS = [
    pytest.param({"invoice_id": "in_unknown"}, 404, "SaleNotFound", id="an unknown invoice"),
    pytest.param({"amount": 0}, 422, "ValidationError", id="a zero amount"),
    pytest.param({"amount": -100}, 422, "ValidationError", id="a negative amount"),
    pytest.param({"amount": 10.5}, 422, "ValidationError", id="a float amount"),
    pytest.param({"amount": "100"}, 422, "ValidationError", id="a string amount"),
    pytest.param({"amount": 4901}, 409, "RefundExceedsSale", id="more than the sale"),
    pytest.param({"currency": "eur"}, 409, "RefundCurrencyMismatch", id="another currency than the sale"),
    pytest.param({"currency": "xyz"}, 422, "UnknownCurrency", id="an unknown currency"),
    pytest.param({"occurred_at": "2999-01-01T00:00:00Z"}, 422, "OccurredInFuture", id="a time in the future"),
    pytest.param({"reason": "angry"}, 422, "ValidationError", id="an unknown field"),
]


@pytest.mark.parametrize(("change", "status", "error"), BAD_REFUNDS)
def test_bad_refund_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, change: dict[str, Any], status: int, error: str
) -> None:
    sold(client, program)
    before = counts(engine)
    response = refund(client, program, **change)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert counts(engine) == before


def test_refund_of_another_program_sale_is_not_found(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    sold(client, program)
    before = counts(engine)
    response = refund(client, other_program)
    assert response.status_code == 404
    assert response.json()["error"] == "SaleNotFound"
    assert counts(engine) == before
