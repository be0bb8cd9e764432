"""The ledger through the API: every commission creation and status change posts, balances are sums
of postings, refunds after payment net the next payout, people's adjustments say who and why."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.commission.tasks import approve_due
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import ApiKey, Commission, LedgerEntry
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.ledger.invariants import check_ledger


def setup_partner(client: TestClient, program: ProgramKeys, code: str = "JANE10") -> str:
    make_plan(client, program)  # 20% of sales for 12 months, 5.00 per lead
    partner = make_partner(client, program, referral_code=code)
    return str(partner["id"])


def sell(
    client: TestClient,
    program: ProgramKeys,
    invoice: str,
    amount: int = 4900,
    customer: str = "cus_1",
    code: str = "JANE10",
) -> dict[str, Any]:
    client.post(
        "/api/v1/track/lead", json={"customer_external_id": customer, "referral_code": code}, headers=program.headers
    )
    response = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": customer, "amount": amount, "currency": "usd", "invoice_id": invoice},
        headers=program.headers,
    )
    assert response.status_code == 200, response.text
    commissions: list[dict[str, Any]] = response.json()["commissions"]
    [commission] = [row for row in commissions if row["kind"] == "sale"]
    return commission


def balance(client: TestClient, program: ProgramKeys, partner_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    [usd] = [row for row in body["data"] if row["currency"] == "usd"]
    return usd


def figures(row: dict[str, Any]) -> tuple[int, int, int, int]:
    return row["pending_amount"], row["approved_amount"], row["paid_amount"], row["available_amount"]


def approve(client: TestClient, program: ProgramKeys, commission_id: str) -> None:
    response = client.post(f"/api/v1/commissions/{commission_id}/approve", headers=program.headers)
    assert response.status_code == 200, response.text


def pay(client: TestClient, program: ProgramKeys, partner_id: str, cutoff: datetime | None = None) -> dict[str, Any]:
    """What production does: a payout run at `cutoff` (default now; no minimum, a manual payout method)
    pays the partner's payable commissions; the partner's payout in it."""
    method = client.put(
        f"/api/v1/partners/{partner_id}/payout-method", json={"type": "manual"}, headers=program.headers
    )
    assert method.status_code == 200, method.text
    patched = client.patch("/api/v1/program", json={"min_payout_amount": 0}, headers=program.headers)
    assert patched.status_code == 200, patched.text
    body: dict[str, Any] = {"preview": False} | ({"cutoff": cutoff.isoformat()} if cutoff else {})
    response = client.post("/api/v1/payouts/runs", json=body, headers=program.headers)
    assert response.status_code == 200, response.text
    [payout] = [row for row in response.json()["payouts"] if row["partner_id"] == partner_id]
    return payout  # type: ignore[no-any-return]


def entry_count(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(LedgerEntry)).scalar_one())


# ---------------------------------------------------------------- the life of a commission


def test_a_partner_without_postings_has_a_zero_balance_in_the_program_currency(
    client: TestClient, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    body = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers).json()
    assert body["partner_id"] == partner_id
    assert [(row["currency"], figures(row)) for row in body["data"]] == [("usd", (0, 0, 0, 0))]


def test_a_tracked_sale_posts_its_earnings_as_pending(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    row = balance(client, program, partner_id)
    assert figures(row) == (500 + 980, 0, 0, 0)  # the lead's 5.00 and 20% of 49.00
    assert (row["earned_amount"], row["reversed_amount"], row["balance_amount"]) == (1480, 0, 1480)
    entries = client.get(f"/api/v1/partners/{partner_id}/ledger", headers=program.headers).json()["data"]
    mine = [entry for entry in entries if entry["commission_id"] == commission["id"]]
    assert {(entry["account"], entry["amount"], entry["kind"]) for entry in mine} == {
        ("partner_pending", 980, "earned"),
        ("commission_expense", -980, "earned"),
    }
    assert len({entry["transaction_id"] for entry in mine}) == 1
    check_ledger(engine, program.id)


def test_approval_makes_earnings_available(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    approve(client, program, commission["id"])
    assert figures(balance(client, program, partner_id)) == (500, 980, 0, 980)
    check_ledger(engine, program.id)


def test_the_hold_period_job_posts_every_approval_in_its_transaction(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    sell(client, program, "in_1")
    sell(client, program, "in_2", amount=10_000, customer="cus_2")
    with transaction(engine) as session:
        assert approve_due(session, utc_now() + timedelta(days=31)) == 4  # two leads, two sales
    row = balance(client, program, partner_id)
    assert figures(row) == (0, 500 + 980 + 500 + 2000, 0, 3980)
    with transaction(engine, writes=False) as session:
        actors = set(session.execute(select(LedgerEntry.actor).where(LedgerEntry.kind == "approved")).scalars())
    assert actors == {"job:approve_due_commissions"}
    check_ledger(engine, program.id)


def test_a_rejected_commission_leaves_the_balance(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    assert client.post(f"/api/v1/commissions/{commission['id']}/reject", headers=program.headers).status_code == 200
    row = balance(client, program, partner_id)
    assert figures(row) == (500, 0, 0, 0)
    assert (row["earned_amount"], row["reversed_amount"]) == (1480, 980)
    check_ledger(engine, program.id)


def test_a_hold_after_approval_takes_earnings_out_of_the_next_payout(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    approve(client, program, commission["id"])
    assert client.post(f"/api/v1/commissions/{commission['id']}/hold", headers=program.headers).status_code == 200
    assert figures(balance(client, program, partner_id)) == (1480, 0, 0, 0)
    check_ledger(engine, program.id)


@pytest.mark.parametrize(
    ("refunds", "pending"),
    [
        pytest.param([None], 500, id="a full refund reverses all pending earnings"),
        pytest.param([2450], 500 + 490, id="a partial refund reverses its share"),
        pytest.param([1000, 1000, None], 500, id="partial refunds then the rest reverse exactly the earnings"),
    ],
)
def test_refunds_reverse_pending_earnings_proportionally(
    client: TestClient, engine: Engine, program: ProgramKeys, refunds: list[int | None], pending: int
) -> None:
    partner_id = setup_partner(client, program)
    sell(client, program, "in_1")
    for amount in refunds:
        body = {"invoice_id": "in_1", **({} if amount is None else {"amount": amount})}
        assert client.post("/api/v1/track/refund", json=body, headers=program.headers).status_code == 200
        check_ledger(engine, program.id)
    assert figures(balance(client, program, partner_id)) == (pending, 0, 0, 0)


def test_a_refund_after_payout_is_a_negative_posting_the_next_payout_nets(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    first = sell(client, program, "in_1")
    with transaction(engine) as session:
        approve_due(session, utc_now() + timedelta(days=31))
    assert pay(client, program, partner_id, utc_now() + timedelta(days=31))["amount"] == 1480
    assert figures(balance(client, program, partner_id)) == (0, 0, 1480, 0)

    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1"}, headers=program.headers)
    assert refund.status_code == 200, refund.text
    [reversal] = refund.json()["commissions"]
    assert (reversal["earnings_amount"], reversal["status"]) == (-980, "approved")
    paid = client.get(f"/api/v1/commissions/{first['id']}", headers=program.headers).json()
    assert (paid["status"], paid["earnings_amount"], paid["explanation"]) == ("paid", 980, first["explanation"])
    assert figures(balance(client, program, partner_id)) == (0, -980, 1480, -980)
    check_ledger(engine, program.id)

    second = sell(client, program, "in_2", amount=10_000, customer="cus_2")
    approve(client, program, second["id"])
    later = utc_now() + timedelta(days=31)  # the hold-period job above ran 31 days ahead: so does the run
    assert pay(client, program, partner_id, later)["amount"] == 2000 - 980  # the refund is netted
    row = balance(client, program, partner_id)
    assert figures(row) == (500, 0, 1480 + 1020, 0)  # the second customer's lead is still pending
    assert (
        row["balance_amount"]
        == row["earned_amount"] - row["reversed_amount"] + row["adjusted_amount"] - row["paid_amount"]
    )
    check_ledger(engine, program.id)


def test_a_failed_payout_makes_its_earnings_payable_again(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    approve(client, program, commission["id"])
    payout = pay(client, program, partner_id)
    assert figures(balance(client, program, partner_id)) == (500, 0, 980, 0)
    url = f"/api/v1/payouts/{payout['id']}/mark-failed"
    failed = client.post(url, json={"reason": "bank bounced"}, headers=program.headers)
    assert failed.status_code == 200, failed.text
    assert client.get(f"/api/v1/commissions/{commission['id']}", headers=program.headers).json()["status"] == "approved"
    assert figures(balance(client, program, partner_id)) == (500, 980, 0, 980)
    before = entry_count(engine)
    again = client.post(url, json={"reason": "bank bounced"}, headers=program.headers)
    assert again.status_code == 409 and entry_count(engine) == before
    check_ledger(engine, program.id)
    retried = client.post(f"/api/v1/payouts/{payout['id']}/retry", headers=program.headers)
    assert retried.status_code == 201, retried.text
    assert (retried.json()["amount"], retried.json()["commission_count"]) == (980, 1)
    assert figures(balance(client, program, partner_id)) == (500, 0, 980, 0)
    check_ledger(engine, program.id)


def test_a_run_pays_only_approved_commissions_past_their_hold_and_posts_each_payout_once(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    waiting = sell(client, program, "in_1")  # pending, in its hold: not paid
    held = sell(client, program, "in_2", customer="cus_2")
    assert client.post(f"/api/v1/commissions/{held['id']}/hold", headers=program.headers).status_code == 200
    paid = sell(client, program, "in_3", customer="cus_3")
    approve(client, program, paid["id"])
    payout = pay(client, program, partner_id)
    assert (payout["amount"], payout["commission_count"]) == (980, 1)
    statuses = {
        row["id"]: row["status"]
        for row in client.get(f"/api/v1/commissions?partner_id={partner_id}", headers=program.headers).json()["data"]
    }
    assert (statuses[waiting["id"]], statuses[held["id"]], statuses[paid["id"]]) == ("pending", "on_hold", "paid")
    with transaction(engine, writes=False) as session:
        postings = session.execute(
            select(LedgerEntry.account, LedgerEntry.amount).where(LedgerEntry.payout_id == payout["id"])
        ).all()
    assert sorted(postings) == [("partner_approved", -980), ("partner_paid", 980)]
    check_ledger(engine, program.id)


# ---------------------------------------------------------------- people's adjustments


def key_actor(engine: Engine, program: ProgramKeys) -> str:
    with transaction(engine, writes=False) as session:
        key = session.execute(select(ApiKey).where(ApiKey.program_id == program.id)).scalar_one()
        return f"api_key:{key.id} ({key.name})"


def test_a_manual_commission_is_approved_and_records_who_and_why(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    response = client.post(
        "/api/v1/commissions",
        json={"partner_id": partner_id, "amount": 2500, "reason": "Webinar co-hosting"},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    manual = response.json()
    actor = key_actor(engine, program)
    assert (manual["kind"], manual["status"], manual["earnings_amount"], manual["earnings_currency"]) == (
        "manual", "approved", 2500, "usd",
    )  # fmt: skip
    assert (manual["reason"], manual["created_by"]) == ("Webinar co-hosting", actor)
    assert manual["explanation"] == f"Manual commission of 25.00 USD by {actor}: Webinar co-hosting"
    row = balance(client, program, partner_id)
    assert figures(row) == (0, 2500, 0, 2500)
    assert row["adjusted_amount"] == 2500
    with transaction(engine, writes=False) as session:
        entries = list(session.execute(select(LedgerEntry).where(LedgerEntry.commission_id == manual["id"])).scalars())
    assert {(entry.kind, entry.actor) for entry in entries} == {("adjusted", actor)}
    check_ledger(engine, program.id)


def test_a_negative_manual_commission_is_a_clawback_the_next_payout_nets(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    response = client.post(
        "/api/v1/commissions",
        json={"partner_id": partner_id, "amount": -700, "currency": "usd", "reason": "Duplicate payment in May"},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["explanation"].startswith("Clawback of -7.00 USD by api_key:")
    assert figures(balance(client, program, partner_id)) == (0, -700, 0, -700)
    check_ledger(engine, program.id)


def test_clawing_back_part_of_a_paid_commission_nets_the_next_payout(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    approve(client, program, commission["id"])
    pay(client, program, partner_id)
    response = client.post(
        f"/api/v1/commissions/{commission['id']}/clawback",
        json={"amount": 300, "reason": "Customer was an employee"},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    clawback = response.json()
    assert (clawback["kind"], clawback["earnings_amount"], clawback["status"]) == ("clawback", -300, "approved")
    assert clawback["reverses_id"] == commission["id"]
    assert clawback["created_by"] == key_actor(engine, program)
    assert client.get(f"/api/v1/commissions/{commission['id']}", headers=program.headers).json()["status"] == "paid"
    assert figures(balance(client, program, partner_id)) == (500, -300, 980, -300)
    check_ledger(engine, program.id)


def test_clawing_back_a_pending_commission_in_full_reverses_it(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    response = client.post(
        f"/api/v1/commissions/{commission['id']}/clawback", json={"reason": "Fraud"}, headers=program.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["earnings_amount"] == -980
    assert client.get(f"/api/v1/commissions/{commission['id']}", headers=program.headers).json()["status"] == "reversed"
    assert figures(balance(client, program, partner_id)) == (500, 0, 0, 0)
    check_ledger(engine, program.id)


def test_a_refund_after_a_partial_clawback_reverses_only_what_is_left(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    client.post(
        f"/api/v1/commissions/{commission['id']}/clawback", json={"amount": 800, "reason": "x"}, headers=program.headers
    )
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1"}, headers=program.headers).json()
    assert [row["earnings_amount"] for row in refund["commissions"]] == [-180]
    assert figures(balance(client, program, partner_id)) == (500, 0, 0, 0)
    check_ledger(engine, program.id)


BAD_ADJUSTMENTS = [
    pytest.param("/api/v1/commissions", {"amount": 100, "reason": "x"}, 422, "ValidationError", id="no partner"),
    pytest.param("/api/v1/commissions", {"partner_id": "P", "amount": 100}, 422, "ValidationError", id="no reason"),
    pytest.param("/api/v1/commissions", {"partner_id": "P", "amount": 0, "reason": "x"}, 422, "ValidationError",
                 id="a zero amount"),
    pytest.param("/api/v1/commissions", {"partner_id": "P", "amount": 10.5, "reason": "x"}, 422, "ValidationError",
                 id="a float amount"),
    pytest.param("/api/v1/commissions", {"partner_id": "P", "amount": 100, "reason": "x", "currency": "xyz"}, 422,
                 "UnknownCurrency", id="an unknown currency"),
    pytest.param("/api/v1/commissions", {"partner_id": "nobody", "amount": 100, "reason": "x"}, 404,
                 "PartnerNotEnrolled", id="an unknown partner"),
    pytest.param("/api/v1/commissions/C/clawback", {"amount": 981, "reason": "x"}, 409, "ClawbackNotAllowed",
                 id="a clawback above the earnings"),
    pytest.param("/api/v1/commissions/C/clawback", {"amount": -5, "reason": "x"}, 422, "ValidationError",
                 id="a negative clawback"),
    pytest.param("/api/v1/commissions/nothing/clawback", {"reason": "x"}, 404, "CommissionNotFound",
                 id="a clawback of an unknown commission"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "status", "error"), BAD_ADJUSTMENTS)
def test_bad_adjustment_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, path: str, body: dict[str, Any], status: int, error: str
) -> None:
    partner_id = setup_partner(client, program)
    commission = sell(client, program, "in_1")
    body = {key: (partner_id if value == "P" else value) for key, value in body.items()}
    with transaction(engine, writes=False) as session:
        rows_before = session.execute(select(func.count()).select_from(Commission)).scalar_one()
    entries_before = entry_count(engine)
    response = client.post(path.replace("/C/", f"/{commission['id']}/"), json=body, headers=program.headers)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    with transaction(engine, writes=False) as session:
        assert session.execute(select(func.count()).select_from(Commission)).scalar_one() == rows_before
    assert entry_count(engine) == entries_before


def test_a_clawback_of_a_reversal_is_refused(client: TestClient, program: ProgramKeys) -> None:
    setup_partner(client, program)
    sell(client, program, "in_1")
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 100}, headers=program.headers)
    reversal_id = refund.json()["commissions"][0]["id"]
    response = client.post(f"/api/v1/commissions/{reversal_id}/clawback", json={"reason": "x"}, headers=program.headers)
    assert (response.status_code, response.json()["error"]) == (409, "ClawbackNotAllowed")


def test_balance_of_a_partner_of_another_program_is_not_found(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    partner_id = setup_partner(client, program)
    for path in (f"/api/v1/partners/{partner_id}/balance", f"/api/v1/partners/{partner_id}/ledger"):
        response = client.get(path, headers=other_program.headers)
        assert (response.status_code, response.json()["error"]) == (404, "PartnerNotFound")
