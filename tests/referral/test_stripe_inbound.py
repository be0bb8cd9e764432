"""Friends converting through Stripe's webhooks: a paid invoice of a referred friend rewards the advocate
once (the same event again makes nothing more); a friend who is the advocate's own Stripe customer is
rejected as a self-referral."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys
from tests.integrations.stripe_kit import connect, new_event, paid_invoice, post_event, send
from tests.referral.conftest import make_advocate, rewards, set_rewards


def _lead(client: TestClient, program: ProgramKeys, code: str, customer: str) -> None:
    response = client.post(
        "/api/v1/track/lead", json={"referral_code": code, "customer_external_id": customer}, headers=program.headers
    )
    assert response.status_code in (200, 201), response.text


def test_a_friends_paid_invoice_rewards_once(client: TestClient, program: ProgramKeys) -> None:
    connect(client, program)
    set_rewards(client, program, friend={"type": "none"})
    advocate = make_advocate(client, program, stripe_customer_id="cus_S1ada")
    _lead(client, program, advocate["referral_code"], "cus_Sfriend")
    event = new_event("invoice.paid", paid_invoice("in_S1", "cus_Sfriend"))
    send(client, program, event)
    assert post_event(client, program, event).status_code == 200  # Stripe retries the delivery
    second = new_event("invoice.paid", paid_invoice("in_S2", "cus_Sfriend", billing_reason="subscription_cycle"))
    send(client, program, second)
    found = rewards(client, program)
    assert [(r["side"], r["type"], r["status"]) for r in found] == [("referrer", "credit", "pending")]
    shown = client.get(f"/api/v1/advocates/{advocate['id']}", headers=program.headers).json()
    assert shown["referrals_count"] == 1


def test_the_advocates_own_stripe_customer_is_a_self_referral(client: TestClient, program: ProgramKeys) -> None:
    connect(client, program)
    set_rewards(client, program)
    advocate = make_advocate(client, program, stripe_customer_id="cus_S1ada")
    _lead(client, program, advocate["referral_code"], "acct-7")  # a second account of the advocate's
    invoice = paid_invoice("in_S1", "cus_S1ada", metadata={"customer_external_id": "acct-7"})
    send(client, program, new_event("invoice.paid", invoice))
    found = rewards(client, program)
    assert len(found) == 2 and {r["status"] for r in found} == {"rejected"}
    assert all("Stripe customer" in r["reason"] for r in found)


def test_new_stripe_customers_become_advocates_when_the_program_says_so(
    client: TestClient, program: ProgramKeys
) -> None:
    from tests.integrations.stripe_kit import stripe_object

    connect(client, program)
    set_rewards(client, program)
    quiet = stripe_object("customer", id="cus_Squiet", email="quiet@example.com", name="Quiet")
    send(client, program, new_event("customer.created", quiet))
    assert client.get("/api/v1/advocates", headers=program.headers).json()["data"] == []
    set_rewards(client, program, auto_advocates=True)
    ada = stripe_object("customer", id="cus_Sada", email="Ada@Example.com", name="Ada")
    event = new_event("customer.created", ada)
    send(client, program, event)
    send(client, program, new_event("customer.created", ada))  # the same customer again
    send(client, program, new_event("customer.created", stripe_object("customer", id="cus_Snomail", email=None)))
    (advocate,) = client.get("/api/v1/advocates", headers=program.headers).json()["data"]
    assert (advocate["customer_external_id"], advocate["email"], advocate["stripe_customer_id"]) == (
        "cus_Sada",
        "ada@example.com",
        "cus_Sada",
    )


def test_a_customers_first_paid_invoice_makes_them_an_advocate_when_the_program_says_so(
    client: TestClient, program: ProgramKeys
) -> None:
    from tests.integrations.stripe_kit import stripe_object

    connect(client, program)
    set_rewards(client, program, auto_advocates=True, auto_advocates_on="invoice.paid")
    ada = stripe_object("customer", id="cus_Sada", email="ada@example.com", name="Ada")
    send(client, program, new_event("customer.created", ada))  # not yet: on the first paid invoice
    assert client.get("/api/v1/advocates", headers=program.headers).json()["data"] == []
    first = paid_invoice("in_A1", "cus_Sada")
    first.update(customer_email="Ada@Example.com", customer_name="Ada")
    send(client, program, new_event("invoice.paid", first))
    second = paid_invoice("in_A2", "cus_Sada", billing_reason="subscription_cycle")
    second.update(customer_email="ada@example.com", customer_name="Ada")
    send(client, program, new_event("invoice.paid", second))  # a later invoice: the same advocate
    (advocate,) = client.get("/api/v1/advocates", headers=program.headers).json()["data"]
    assert (advocate["customer_external_id"], advocate["email"], advocate["stripe_customer_id"]) == (
        "cus_Sada", "ada@example.com", "cus_Sada",
    )  # fmt: skip
    refused = client.patch("/api/v1/program", headers=program.headers,
                           json={"referral_rewards": {"auto_advocates": True, "auto_advocates_on": "sometimes"}})  # fmt: skip
    assert refused.status_code == 422 and "auto_advocates_on" in refused.text
