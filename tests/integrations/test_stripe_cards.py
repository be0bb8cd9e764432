"""Card fingerprints from Stripe: the partner's own card, or one card paying for many of the partner's
customers, holds the sale's commission under a card_fingerprint alert, whichever of the charge and the
invoice arrives first."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.integrations.stripe import rules
from partnerloop.models import StripeCardSeen
from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.integrations.stripe_kit import checkout_session, connect, new_event, paid_invoice, send, stripe_object
from tests.manage.factories import as_owner

PARTNER_EMAIL = "pat.partner@example.com"


@pytest.fixture
def partner(client: TestClient, program: ProgramKeys) -> dict[str, Any]:
    connect(client, program)
    make_plan(client, program)  # 20% of sales
    partner = make_partner(client, program, email=PARTNER_EMAIL)
    created = client.post(
        "/api/v1/coupons", json={"code": "PAT20", "partner_id": partner["id"]}, headers=program.headers
    )
    assert created.status_code == 201, created.text
    return partner


def charge(charge_id: str, customer: str | None, fingerprint: str, email: str | None = None) -> dict[str, Any]:
    obj = stripe_object("charge", id=charge_id, customer=customer, payment_intent=None, amount=11900)
    obj["payment_method_details"]["card"]["fingerprint"] = fingerprint
    obj["billing_details"]["email"] = email
    return obj


def coupon_invoice(invoice_id: str, customer: str) -> dict[str, Any]:
    discount = {"id": f"di_{invoice_id}", "object": "discount",
                "promotion_code": {"id": "promo_pat", "object": "promotion_code", "code": "PAT20"}}  # fmt: skip
    return paid_invoice(invoice_id, customer, discounts=[discount], subscription=None)


def statuses(client: TestClient, program: ProgramKeys) -> dict[str, str]:
    response = client.get("/api/v1/commissions?limit=100", headers=program.headers)
    assert response.status_code == 200, response.text
    return {row["event_id"]: row["status"] for row in response.json()["data"]}


def card_alerts(client: TestClient, program: ProgramKeys) -> list[dict[str, Any]]:
    response = client.get("/api/v1/alerts", params={"kind": "card_fingerprint"}, headers=program.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_the_partners_own_card_arriving_after_the_invoice_holds_the_sale(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    # the partner once paid the program with this card, as a Stripe customer under their own email
    send(client, program, new_event("charge.succeeded", charge("ch_own", "cus_pat", "fpPAT", PARTNER_EMAIL)))
    send(client, program, new_event("invoice.paid", coupon_invoice("in_C1", "cus_C")))
    assert set(statuses(client, program).values()) == {"pending"}  # no card of cus_C known yet
    assert card_alerts(client, program) == []
    # the charge of that invoice comes after it: the sale is screened again and held
    send(client, program, new_event("charge.succeeded", charge("ch_C1", "cus_C", "fpPAT", "someone@else.example")))
    assert set(statuses(client, program).values()) == {"on_hold"}
    [alert] = card_alerts(client, program)
    assert (alert["partner_id"], alert["severity"], alert["status"]) == (partner["id"], "high", "open")
    assert alert["evidence"]["matched"] == ["the partner's own card"]
    assert len(alert["evidence"]["held_commission_ids"]) == 1
    # the same charge again (Stripe retries, or a payment intent of it) changes nothing
    send(client, program, new_event("charge.succeeded", charge("ch_C1", "cus_C", "fpPAT", "someone@else.example")))
    assert card_alerts(client, program)[0]["occurrences"] == 1
    with transaction(engine, writes=False) as session:
        stored = list(session.execute(select(StripeCardSeen.fingerprint_hash)).scalars())
    assert len(stored) == 2 and "fpPAT" not in stored and all(len(value) == 64 for value in stored)
    # the review page shows the evidence and what it holds
    as_owner(client)
    detail = client.get(f"/manage/alerts/{alert['id']}?program={program.id}")
    assert detail.status_code == 200, detail.text
    assert "Card fingerprint" in detail.text and "the partner&#39;s own card" in detail.text
    assert alert["evidence"]["partner_cards"][0] in detail.text and "Commissions this alert holds" in detail.text
    settings = client.get(f"/manage/alerts?program={program.id}")
    assert settings.status_code == 200 and "card_shared_customers" in settings.text


def test_one_card_paying_for_many_customers_of_the_partner_is_held_when_it_reaches_the_threshold(
    client: TestClient, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    changed = client.patch("/api/v1/alerts/settings", headers=program.headers, json={"card_shared_customers": 2})
    assert changed.status_code == 200 and changed.json()["thresholds"]["card_shared_customers"]["value"] == 2
    # the charge before the invoice this time
    send(client, program, new_event("charge.succeeded", charge("ch_X1", "cus_X1", "fpMULE")))
    send(client, program, new_event("invoice.paid", coupon_invoice("in_X1", "cus_X1")))
    assert set(statuses(client, program).values()) == {"pending"}
    send(client, program, new_event("charge.succeeded", charge("ch_X2", "cus_X2", "fpMULE")))
    send(client, program, new_event("invoice.paid", coupon_invoice("in_X2", "cus_X2")))
    held = statuses(client, program)
    assert sorted(held.values()) == ["on_hold", "pending"]  # the second customer on the card is the flagged one
    [alert] = card_alerts(client, program)
    assert alert["evidence"]["customers_on_card"] == 2 and alert["evidence"]["card_shared_customers_threshold"] == 2
    # a customer paying with a card of their own is not held
    send(client, program, new_event("charge.succeeded", charge("ch_Y", "cus_Y", "fpOWN")))
    send(client, program, new_event("invoice.paid", coupon_invoice("in_Y", "cus_Y")))
    assert sorted(statuses(client, program).values()) == ["on_hold", "pending", "pending"]


def test_bad_threshold_is_a_422_naming_it(client: TestClient, program: ProgramKeys) -> None:
    response = client.patch("/api/v1/alerts/settings", headers=program.headers, json={"card_shared_customers": 1})
    assert response.status_code == 422 and response.json()["detail"].startswith("card_shared_customers")


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({"object": "charge", "id": "ch_1", "customer": "cus_1", "receipt_email": "a@b.example",
                      "payment_method_details": {"type": "card", "card": {"fingerprint": "fp1"}}},
                     rules.CardPayment("fp1", "cus_1", "a@b.example", ("ch_1",)), id="a charge"),
        pytest.param({"object": "charge", "id": "ch_1", "payment_method_details": {"type": "sepa_debit"}}, None,
                     id="a charge by bank debit shows no card"),
        pytest.param({"object": "payment_intent", "id": "pi_1", "customer": "cus_1",
                      "latest_charge": {"object": "charge", "id": "ch_1", "payment_intent": "pi_1",
                                        "payment_method_details": {"card": {"fingerprint": "fp1"}}}},
                     rules.CardPayment("fp1", "cus_1", None, ("ch_1", "pi_1")), id="a payment intent, charge expanded"),
        pytest.param({"object": "payment_intent", "id": "pi_1", "latest_charge": "ch_1",
                      "charges": {"data": [{"id": "ch_1", "customer": "cus_2",
                                            "payment_method_details": {"card": {"fingerprint": "fp2"}}}]}},
                     rules.CardPayment("fp2", "cus_2", None, ("ch_1", "pi_1")), id="a payment intent before 2022-11"),
        pytest.param({"object": "payment_intent", "id": "pi_1", "latest_charge": "ch_1",
                      "payment_method": {"id": "pm_1", "card": {"fingerprint": "fp3"},
                                         "billing_details": {"email": "x@y.example"}}},
                     rules.CardPayment("fp3", None, "x@y.example", ("pi_1",)), id="a payment method expanded"),
        pytest.param({"object": "payment_intent", "id": "pi_1", "latest_charge": "ch_1"}, None,
                     id="a payment intent with nothing expanded"),
    ],
)  # fmt: skip
def test_card_payment(obj: dict[str, Any], expected: rules.CardPayment | None) -> None:
    assert rules.card_payment(obj) == expected


def test_stripes_own_charge_fixture_shows_its_card() -> None:
    found = rules.card_payment(stripe_object("charge"))
    assert found is not None and found.fingerprint == "AOB934RVNwzk6xtn"


def test_a_guests_checkout_paid_with_the_partners_card_is_held(
    client: TestClient, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    send(client, program, new_event("charge.succeeded", charge("ch_own", "cus_pat", "fpPAT", PARTNER_EMAIL)))
    discount = {"coupon": None, "promotion_code": {"id": "promo_pat", "object": "promotion_code", "code": "PAT20"}}
    guest = checkout_session(None, mode="payment", payment_intent="pi_guest", subscription=None, invoice=None,
                             discounts=[discount], total_details={"amount_tax": 0})  # fmt: skip
    send(client, program, new_event("checkout.session.completed", guest))
    assert set(statuses(client, program).values()) == {"pending"}
    paid = charge("ch_guest", None, "fpPAT")
    paid["payment_intent"] = "pi_guest"
    send(client, program, new_event("charge.succeeded", paid))
    assert set(statuses(client, program).values()) == {"on_hold"}
    assert card_alerts(client, program)[0]["evidence"]["matched"] == ["the partner's own card"]
