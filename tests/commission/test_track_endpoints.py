"""POST /api/v1/track/lead and /track/sale through the app: attribution, commissions, idempotency, bad input."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Customer, Event
from tests.commission.factories import counts, make_click, make_partner, make_plan
from tests.conftest import ProgramKeys


def iso(days_ago: float) -> str:
    return (utc_now() - timedelta(days=days_ago)).isoformat()


def lead(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    return client.post("/api/v1/track/lead", json={"customer_external_id": "cus_1", **body}, headers=program.headers)


def sale(client: TestClient, program: ProgramKeys, **body: Any) -> Any:
    payload = {"customer_external_id": "cus_1", "amount": 4900, "currency": "usd", "invoice_id": "in_1", **body}
    return client.post("/api/v1/track/sale", json=payload, headers=program.headers)


# ---------------------------------------------------------------- leads


def test_lead_through_a_click_attributes_the_customer_and_earns_the_lead_reward(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    click_id = make_click(client, engine, program, partner["id"])
    response = lead(client, program, click_id=click_id, email="Buyer@Example.com", name="Buyer")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer"]["external_id"] == "cus_1"
    assert body["customer"]["partner_id"] == partner["id"]
    assert body["customer"]["click_id"] == click_id
    assert body["lead"]["event_name"] == "sign_up"
    [commission] = body["commissions"]
    assert commission["partner_id"] == partner["id"]
    assert (commission["earnings_amount"], commission["earnings_currency"]) == (500, "usd")
    assert commission["status"] == "pending"
    assert commission["kind"] == "lead"
    assert commission["explanation"] == "5.00 USD per lead under Standard"
    assert body["no_commission_reason"] is None
    with transaction(engine, writes=False) as session:
        customer = session.execute(select(Customer)).scalar_one()
    assert customer.email_hash == hashlib.sha256(b"buyer@example.com").hexdigest()
    assert customer.attribution is not None and click_id in customer.attribution


def test_lead_through_a_referral_code_attributes_to_its_partner(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    partner = make_partner(client, program, referral_code="JANE10")
    body = lead(client, program, referral_code="JANE10").json()
    assert body["customer"]["partner_id"] == partner["id"]
    assert body["commissions"][0]["earnings_amount"] == 500


def test_lead_after_the_cookie_window_is_recorded_unattributed_and_says_why(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    click_id = make_click(client, engine, program, partner["id"], at=utc_now() - timedelta(days=91))
    response = lead(client, program, click_id=click_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer"]["partner_id"] is None
    assert body["commissions"] == []
    assert "outside the 90-day cookie window" in body["no_commission_reason"]
    assert counts(engine) == {"customers": 1, "events": 1, "commissions": 0}


def test_lead_from_a_bot_click_earns_nothing(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    make_plan(client, program)
    click_id = make_click(client, engine, program, make_partner(client, program)["id"], is_bot=True)
    body = lead(client, program, click_id=click_id).json()
    assert body["customer"]["partner_id"] is None
    assert "was made by a bot" in body["no_commission_reason"]


def test_lead_of_a_pending_partner_earns_nothing(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    make_partner(client, program, status="pending", referral_code="WAIT01")
    body = lead(client, program, referral_code="WAIT01").json()
    assert body["commissions"] == []
    assert "is pending, not approved" in body["no_commission_reason"]


def test_the_same_lead_again_answers_the_first_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    make_partner(client, program, referral_code="JANE10")
    first = lead(client, program, referral_code="JANE10")
    before = counts(engine)
    again = lead(client, program, referral_code="JANE10")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert counts(engine) == before == {"customers": 1, "events": 1, "commissions": 1}
    other_event = lead(client, program, referral_code="JANE10", event_name="activated")
    assert other_event.json()["lead"]["id"] != first.json()["lead"]["id"]


def test_a_customer_keeps_the_partner_of_their_first_conversion(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    first = make_partner(client, program, referral_code="FIRST1")
    second = make_partner(client, program)
    lead(client, program, referral_code="FIRST1")
    click_id = make_click(client, engine, program, second["id"])
    body = sale(client, program, click_id=click_id).json()
    assert body["customer"]["partner_id"] == first["id"]
    assert [c["partner_id"] for c in body["commissions"]] == [first["id"]]


# ---------------------------------------------------------------- sales


def test_sale_of_an_attributed_customer_earns_the_percent_with_an_explanation(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    plan_id = make_plan(client, program)
    partner = make_partner(client, program, referral_code="JANE10")
    lead(client, program, referral_code="JANE10")
    response = sale(client, program, product_id="pro", coupon_code="SPRING")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sale"]["invoice_id"] == "in_1"
    assert (body["sale"]["amount"], body["sale"]["currency"]) == (4900, "usd")
    assert body["sale"]["coupon_code"] == "SPRING"
    [commission] = body["commissions"]
    assert commission["partner_id"] == partner["id"]
    assert (commission["earnings_amount"], commission["earnings_currency"]) == (980, "usd")
    assert (commission["amount"], commission["currency"]) == (4900, "usd")
    assert commission["explanation"] == "20% of 49.00 USD under Standard, month 1 of 12"
    assert commission["status"] == "pending"
    assert commission["plan_id"] == plan_id
    assert commission["rule"]["reward"] == {"type": "percent", "rate_bps": 2000}
    with transaction(engine, writes=False) as session:
        event = session.execute(select(Event).where(Event.kind == "sale")).scalar_one()
    held = commission["hold_until"].replace("Z", "+00:00")
    assert held.startswith((event.occurred_at + timedelta(days=30)).date().isoformat())


def test_sale_with_a_click_id_creates_and_attributes_the_customer(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    partner = make_partner(client, program)
    click_id = make_click(client, engine, program, partner["id"], at=utc_now() - timedelta(days=3))
    body = sale(client, program, click_id=click_id, customer_external_id="new_customer").json()
    assert body["customer"]["external_id"] == "new_customer"
    assert body["customer"]["partner_id"] == partner["id"]
    assert body["commissions"][0]["earnings_amount"] == 980


def test_recurring_sales_pay_for_the_plan_months_then_stop(client: TestClient, program: ProgramKeys) -> None:
    make_plan(
        client,
        program,
        rules=[
            {
                "event": "sale",
                "reward": {"type": "percent", "rate_bps": 1000},
                "duration": {"kind": "months", "months": 3},
            }
        ],
    )
    make_partner(client, program, referral_code="JANE10")
    lead(client, program, referral_code="JANE10", occurred_at=iso(200))
    explanations = []
    for index, days_ago in enumerate([150, 130, 100, 40]):
        body = sale(client, program, invoice_id=f"in_{index}", occurred_at=iso(days_ago)).json()
        explanations.append([c["explanation"] for c in body["commissions"]] or body["no_commission_reason"])
    assert explanations[0] == ["10% of 49.00 USD under Standard, month 1 of 3"]
    assert explanations[1] == ["10% of 49.00 USD under Standard, month 1 of 3"]
    assert explanations[2] == ["10% of 49.00 USD under Standard, month 2 of 3"]
    assert "this sale is in month 4" in explanations[3]


def test_sale_without_a_plan_is_recorded_and_says_so(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    make_partner(client, program, referral_code="JANE10")
    lead(client, program, referral_code="JANE10")
    body = sale(client, program).json()
    assert body["commissions"] == []
    assert body["no_commission_reason"] == (
        "No commission plan applies: the partner has no plan and the program has no default plan."
    )
    assert counts(engine)["events"] == 2


def test_the_partner_own_plan_beats_the_default(client: TestClient, program: ProgramKeys) -> None:
    make_plan(client, program)
    own = make_plan(
        client,
        program,
        name="Gold",
        default=False,
        rules=[{"event": "sale", "reward": {"type": "percent", "rate_bps": 3000}, "duration": {"kind": "lifetime"}}],
    )
    make_partner(client, program, referral_code="GOLD01", plan_id=own)
    lead(client, program, referral_code="GOLD01")
    [commission] = sale(client, program).json()["commissions"]
    assert commission["explanation"] == "30% of 49.00 USD under Gold, month 1, lifetime"
    assert commission["plan_id"] == own


def test_editing_a_plan_leaves_existing_commissions_unchanged(client: TestClient, program: ProgramKeys) -> None:
    plan_id = make_plan(client, program)
    make_partner(client, program, referral_code="JANE10")
    lead(client, program, referral_code="JANE10")
    [before] = sale(client, program).json()["commissions"]
    new_rules = [{"event": "sale", "reward": {"type": "percent", "rate_bps": 5000}, "duration": {"kind": "lifetime"}}]
    assert (
        client.patch(f"/api/v1/plans/{plan_id}", json={"rules": new_rules}, headers=program.headers).status_code == 200
    )
    after = client.get(f"/api/v1/commissions/{before['id']}", headers=program.headers).json()
    assert after == before
    [newer] = sale(client, program, invoice_id="in_2").json()["commissions"]
    assert newer["earnings_amount"] == 2450


def test_the_same_invoice_again_answers_the_same_sale_and_creates_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    make_partner(client, program, referral_code="JANE10")
    lead(client, program, referral_code="JANE10")
    first = sale(client, program)
    before = counts(engine)
    for _ in range(3):
        again = sale(client, program)
        assert again.status_code == 200
        assert again.json() == first.json()
    assert counts(engine) == before


def test_the_same_invoice_with_another_amount_is_a_conflict(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    make_plan(client, program)
    sale(client, program)
    before = counts(engine)
    for changed in ({"amount": 5000}, {"currency": "eur"}, {"customer_external_id": "cus_2"}):
        response = sale(client, program, **changed)
        assert response.status_code == 409, changed
        assert response.json()["error"] == "InvoiceConflict"
    assert counts(engine) == before


def test_sale_in_another_currency_earns_percent_of_its_value_in_the_program_currency(
    client: TestClient, program: ProgramKeys
) -> None:
    make_plan(client, program)
    make_partner(client, program, referral_code="JANE10")
    lead(client, program, referral_code="JANE10")
    rate = {"base": "jpy", "quote": "usd", "date": "2020-01-01", "rate": "0.0067"}
    assert client.post("/api/v1/fx-rates", json=rate, headers=program.headers).status_code == 201
    [commission] = sale(client, program, amount=999, currency="JPY").json()["commissions"]
    # 999 JPY x 0.0067 = 6.6933 USD -> 669 cents; 20% -> 133.8 -> 134
    assert (commission["amount"], commission["currency"]) == (999, "jpy")
    assert (commission["program_amount"], commission["fx_rate"]) == (669, "0.0067")
    assert (commission["earnings_amount"], commission["earnings_currency"]) == (134, "usd")
    assert commission["explanation"] == "20% of 6.69 USD (999 JPY at 0.0067) under Standard, month 1 of 12"


# ---------------------------------------------------------------- bad input: a clear 4xx and nothing written

BAD_SALES = [
    pytest.param({"amount": 49.0}, 422, "ValidationError", id="a float amount"),
    pytest.param({"amount": "4900"}, 422, "ValidationError", id="a string amount"),
    pytest.param({"amount": 0}, 422, "ValidationError", id="a zero amount"),
    pytest.param({"amount": -4900}, 422, "ValidationError", id="a negative amount"),
    pytest.param({"amount": True}, 422, "ValidationError", id="a boolean amount"),
    pytest.param({"currency": "xyz"}, 422, "UnknownCurrency", id="an unknown currency"),
    pytest.param({"currency": "dollars"}, 422, "UnknownCurrency", id="a currency name"),
    pytest.param({"currency": 840}, 422, "ValidationError", id="a numeric currency"),
    pytest.param({"invoice_id": ""}, 422, "ValidationError", id="an empty invoice id"),
    pytest.param({"invoice_id": 17}, 422, "ValidationError", id="a numeric invoice id"),
    pytest.param({"customer_external_id": None}, 422, "ValidationError", id="no customer"),
    pytest.param({"occurred_at": "2026-01-01T00:00:00"}, 422, "ValidationError", id="a time without a zone"),
    pytest.param({"occurred_at": 1767225600}, 422, "ValidationError", id="a time as epoch seconds"),
    pytest.param({"occurred_at": "yesterday"}, 422, "ValidationError", id="a time that is not a time"),
    pytest.param({"occurred_at": "2999-01-01T00:00:00Z"}, 422, "OccurredInFuture", id="a time in the future"),
    pytest.param({"click_id": "01jzzzzzzzzzzzzzzzzzzzzzzz"}, 404, "ClickNotFound", id="an unknown click id"),
    pytest.param({"discount": 5}, 422, "ValidationError", id="an unknown field"),
]


@pytest.mark.parametrize(("change", "status", "error"), BAD_SALES)
def test_bad_sale_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, change: dict[str, Any], status: int, error: str
) -> None:
    make_plan(client, program)
    response = sale(client, program, **change)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "detail"}
    assert response.json()["error"] == error
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


def test_sale_without_required_fields_is_422(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    for missing in ("customer_external_id", "amount", "currency", "invoice_id"):
        payload = {"customer_external_id": "c", "amount": 1, "currency": "usd", "invoice_id": "i"}
        del payload[missing]
        response = client.post("/api/v1/track/sale", json=payload, headers=program.headers)
        assert response.status_code == 422, missing
        assert missing in response.json()["detail"]
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


@pytest.mark.parametrize("path", ["/api/v1/track/lead", "/api/v1/track/sale", "/api/v1/track/refund"])
def test_malformed_json_is_400_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, path: str
) -> None:
    for body in (b'{"amount": 49', b"amount=49", b"[1, 2"):
        response = client.post(path, content=body, headers={**program.headers, "content-type": "application/json"})
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == "MalformedJSON"
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


@pytest.mark.parametrize("path", ["/api/v1/track/lead", "/api/v1/track/sale", "/api/v1/track/refund"])
def test_tracking_needs_the_secret_key(client: TestClient, engine: Engine, program: ProgramKeys, path: str) -> None:
    body = {"customer_external_id": "c", "amount": 1, "currency": "usd", "invoice_id": "i", "referral_code": "x"}
    assert client.post(path, json=body).status_code == 401
    wrong = client.post(path, json=body, headers={"Authorization": f"Bearer {program.publishable_key}"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "Unauthorized"
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


def test_click_of_another_program_is_not_found_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    theirs = make_click(client, engine, other_program, make_partner(client, other_program)["id"], domain="other.test")
    before = counts(engine)
    for response in (lead(client, program, click_id=theirs), sale(client, program, click_id=theirs)):
        assert response.status_code == 404
        assert response.json()["error"] == "ClickNotFound"
    assert counts(engine) == before


BAD_LEADS = [
    pytest.param({"referral_code": "NOPE99"}, 404, "ReferralCodeNotFound", id="an unknown referral code"),
    pytest.param({"click_id": "01jzzzzzzzzzzzzzzzzzzzzzzz"}, 404, "ClickNotFound", id="an unknown click id"),
    pytest.param({}, 422, "ValidationError", id="neither a click id nor a referral code"),
    pytest.param(
        {"referral_code": "JANE10", "click_id": "01jzzzzzzzzzzzzzzzzzzzzzzz"},
        422,
        "ValidationError",
        id="both a click id and a referral code",
    ),
    pytest.param(
        {"referral_code": "JANE10", "customer_external_id": ""}, 422, "ValidationError", id="an empty customer id"
    ),
    pytest.param(
        {"referral_code": "JANE10", "customer_external_id": 12}, 422, "ValidationError", id="a numeric customer id"
    ),
    pytest.param({"referral_code": "JANE10", "email": "not an email"}, 422, "ValidationError", id="a bad email"),
    pytest.param(
        {"referral_code": "JANE10", "occurred_at": "2999-01-01T00:00:00Z"},
        422,
        "OccurredInFuture",
        id="a time in the future",
    ),
    pytest.param({"referral_code": "JANE10", "amount": 5}, 422, "ValidationError", id="an unknown field"),
]


@pytest.mark.parametrize(("change", "status", "error"), BAD_LEADS)
def test_bad_lead_is_refused_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, change: dict[str, Any], status: int, error: str
) -> None:
    make_plan(client, program)
    make_partner(client, program, referral_code="JANE10")
    response = client.post(
        "/api/v1/track/lead", json={"customer_external_id": "cus_1", **change}, headers=program.headers
    )
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


def test_referral_code_of_another_program_is_not_found(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    make_partner(client, other_program, referral_code="THEIRS1")
    response = lead(client, program, referral_code="THEIRS1")
    assert response.status_code == 404
    assert response.json()["error"] == "ReferralCodeNotFound"
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}
