"""Stripe events mapped onto tracking: sales, attribution in any order, refunds, disputes, coupons."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from partnerloop.db import transaction
from partnerloop.integrations.stripe import service
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.models import Click, Customer, Event, StripeEvent
from partnerloop.tracking.click_ids import click_ids
from tests.commission.factories import make_click, make_partner, make_plan
from tests.conftest import ProgramKeys
from tests.integrations.stripe_kit import (
    checkout_session,
    connect,
    new_event,
    paid_invoice,
    refunded_charge,
    send,
    stripe_object,
    wait_for,
)


@pytest.fixture
def partner(client: TestClient, program: ProgramKeys) -> dict[str, Any]:
    connect(client, program)
    make_plan(client, program)  # 20% of sales
    return make_partner(client, program)


def _commissions(client: TestClient, program: ProgramKeys) -> list[dict[str, Any]]:
    response = client.get("/api/v1/commissions?limit=100", headers=program.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _sales(engine: Engine) -> list[Event]:
    with transaction(engine, writes=False) as session:
        return list(session.execute(select(Event).where(Event.kind == "sale")).scalars())


def test_checkout_then_invoice_pays_commission_on_amount_without_tax(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_A", click_id=click_id)))
    send(client, program, new_event("invoice.paid", paid_invoice("in_A1", "cus_A", total=11900, tax=1900)))
    [commission] = _commissions(client, program)
    assert commission["partner_id"] == partner["id"]
    assert commission["amount"] == 10000
    assert commission["earnings_amount"] == 2000
    [sale] = _sales(engine)
    assert (sale.invoice_id, sale.product_id) == ("in_A1", "prod_team")


def test_invoice_before_its_checkout_session_is_attributed_when_the_session_arrives(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("invoice.paid", paid_invoice("in_B1", "cus_B")))
    assert _commissions(client, program) == []
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_B", click_id=click_id)))
    [commission] = _commissions(client, program)
    assert (commission["partner_id"], commission["earnings_amount"]) == (partner["id"], 2000)
    with transaction(engine, writes=False) as session:
        customer = session.execute(select(Customer).where(Customer.external_id == "cus_B")).scalar_one()
    assert customer.partner_id == partner["id"]


def test_same_invoice_as_two_event_types_and_twice_is_one_sale(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_C", click_id=click_id)))
    invoice = paid_invoice("in_C1", "cus_C")
    send(client, program, new_event("invoice.paid", invoice))
    send(client, program, new_event("invoice.payment_succeeded", invoice))
    send(client, program, new_event("invoice.paid", invoice))
    assert len(_sales(engine)) == 1
    assert len(_commissions(client, program)) == 1


def test_metadata_link_names_our_customer(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    customer = stripe_object("customer", id="cus_L", metadata={"customer_external_id": "user-42", "plan": "team"})
    send(client, program, new_event("customer.created", customer))
    send(client, program, new_event("invoice.paid", paid_invoice("in_L1", "cus_L")))
    [sale] = _sales(engine)
    with transaction(engine, writes=False) as session:
        ours = session.get(Customer, sale.customer_id)
        assert ours is not None
        assert ours.external_id == "user-42"
        assert ours.metadata_["plan"] == "team"


def test_partial_then_full_refund_reverses_proportionally(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_R", click_id=click_id)))
    send(client, program, new_event("invoice.paid", paid_invoice("in_R1", "cus_R", payment_intent="pi_R1")))
    charge = refunded_charge("ch_R1", "pi_R1", amount=11900, refunds=[("re_1", 5950)])
    send(client, program, new_event("charge.refunded", charge))
    assert sorted(c["earnings_amount"] for c in _commissions(client, program)) == [-1000, 2000]
    charge = refunded_charge("ch_R1", "pi_R1", amount=11900, refunds=[("re_1", 5950), ("re_2", 5950)])
    send(client, program, new_event("charge.refunded", charge))
    send(client, program, new_event("charge.refunded", charge))  # a repeat refunds nothing more
    commissions = _commissions(client, program)
    assert sorted(c["earnings_amount"] for c in commissions) == [-1000, -1000, 2000]
    assert sum(c["earnings_amount"] for c in commissions) == 0


def test_refund_before_its_sale_waits_then_applies(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    charge = refunded_charge("ch_W1", "pi_W1", amount=11900, refunds=[("re_W", 11900)])
    refund_event = new_event("charge.refunded", charge)
    waiting = send(client, program, refund_event, "waiting")
    assert waiting["waiting_for"] == "payment:pi_W1"
    send(client, program, new_event("invoice.paid", paid_invoice("in_W1", "cus_W", payment_intent="pi_W1")))
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_W", click_id=click_id)))
    wait_for(client, program, refund_event["id"])
    with transaction(engine, writes=False) as session:
        refunds = list(session.execute(select(Event).where(Event.kind == "refund")).scalars())
    assert [refund.amount for refund in refunds] == [10000]


def test_refund_recorded_before_the_checkout_attributes_reverses_the_commission_it_then_earns(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("invoice.paid", paid_invoice("in_RB", "cus_RB", payment_intent="pi_RB")))
    charge = refunded_charge("ch_RB", "pi_RB", amount=11900, refunds=[("re_RB", 2975)])  # a quarter
    send(client, program, new_event("charge.refunded", charge))
    assert _commissions(client, program) == []
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_RB", click_id=click_id)))
    commissions = _commissions(client, program)
    assert sorted((c["partner_id"], c["earnings_amount"]) for c in commissions) == [
        (partner["id"], -500),
        (partner["id"], 2000),
    ]
    balance = client.get(f"/api/v1/partners/{partner['id']}/balance", headers=program.headers)
    assert balance.json()["data"][0]["pending_amount"] == 1500


def test_lost_dispute_holds_then_reverses(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_D", click_id=click_id)))
    send(client, program, new_event("invoice.paid", paid_invoice("in_D1", "cus_D", payment_intent="pi_D1")))
    dispute = {"id": "dp_1", "object": "dispute", "charge": "ch_D1", "payment_intent": "pi_D1", "amount": 11900,
               "currency": "usd", "status": "needs_response", "reason": "fraudulent"}  # fmt: skip
    send(client, program, new_event("charge.dispute.created", dispute))
    [held] = _commissions(client, program)
    assert held["status"] == "on_hold"
    send(client, program, new_event("charge.dispute.closed", {**dispute, "status": "lost"}))
    commissions = _commissions(client, program)
    assert sum(c["earnings_amount"] for c in commissions) == 0
    original = next(c for c in commissions if c["id"] == held["id"])
    assert original["status"] == "reversed"


def test_won_dispute_releases_the_hold(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_E", click_id=click_id)))
    send(client, program, new_event("invoice.paid", paid_invoice("in_E1", "cus_E", payment_intent="pi_E1")))
    dispute = {"id": "dp_2", "object": "dispute", "charge": "ch_E1", "payment_intent": "pi_E1", "amount": 11900,
               "currency": "usd", "status": "needs_response", "reason": "general"}  # fmt: skip
    send(client, program, new_event("charge.dispute.created", dispute))
    assert _commissions(client, program)[0]["status"] == "on_hold"
    send(client, program, new_event("charge.dispute.closed", {**dispute, "status": "won"}))
    [commission] = _commissions(client, program)
    assert (commission["status"], commission["earnings_amount"]) == ("pending", 2000)


def test_invoices_after_subscription_deleted_earn_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = make_click(client, engine, program, partner["id"])
    send(client, program, new_event("checkout.session.completed", checkout_session("cus_S", click_id=click_id)))
    send(client, program, new_event("invoice.paid", paid_invoice("in_S1", "cus_S", subscription="sub_S")))
    subscription = stripe_object("subscription", id="sub_S", customer="cus_S", status="canceled")
    send(client, program, new_event("customer.subscription.deleted", subscription))
    row = send(client, program, new_event("invoice.paid", paid_invoice("in_S2", "cus_S", subscription="sub_S",
               billing_reason="subscription_cycle")), "ignored")  # fmt: skip
    assert "ended" in row["error"]
    assert len(_commissions(client, program)) == 1


def test_client_reference_id_that_is_not_a_click_id_still_records_the_sale_unattributed(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    session = _paid_checkout("cus_X", "pi_X", click_id="order-1234")  # the merchant's own reference
    row = send(client, program, new_event("checkout.session.completed", session))
    assert "order-1234 is not a Partnerloop click id" in row["error"]
    [sale] = _sales(engine)
    assert (sale.invoice_id, sale.amount) == ("pi_X", 10000)
    assert _commissions(client, program) == []


def _paid_checkout(customer: str, payment_intent: str, *, click_id: str | None) -> dict[str, Any]:
    """A one-time Checkout payment of 119.00 usd, 19.00 of it tax: the sale is 100.00."""
    return checkout_session(
        customer, click_id=click_id, mode="payment", payment_intent=payment_intent, subscription=None,
        amount_total=11900, total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 1900},
    )  # fmt: skip


def _write_click(
    client: TestClient, engine: Engine, program: ProgramKeys, partner_id: str, click_id: str, at: datetime
) -> None:
    """The click the writer process had not written yet, written now with the id its redirect minted."""
    link = client.post(
        "/api/v1/links",
        json={"partner_id": partner_id, "destination_url": "https://acme.test/"},
        headers=program.headers,
    )
    assert link.status_code == 201, link.text
    with transaction(engine) as session:
        session.add(
            Click(id=click_id, program_id=program.id, link_id=link.json()["id"], partner_id=partner_id, created_at=at)
        )


def _retry_click_waits(engine: Engine, now: datetime) -> list[str]:
    """The periodic job's work, as it runs at `now`."""
    with transaction(engine) as session:
        return service.retry_click_waits(session, now)


def _waiting(client: TestClient, program: ProgramKeys) -> list[dict[str, Any]]:
    response = client.get("/api/v1/integrations/stripe/events?status=waiting", headers=program.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_checkout_naming_a_click_not_written_yet_waits_and_is_credited_once_the_click_is_there(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = new_id()  # minted by the redirect, still in the click buffer
    event = new_event("checkout.session.completed", _paid_checkout("cus_CW", "pi_CW", click_id=click_id))
    row = send(client, program, event, "waiting")
    [listed] = _waiting(client, program)
    assert (listed["id"], listed["waiting_for"]) == (row["id"], f"click:{click_id}")
    assert f"waiting for click {click_id}" in listed["error"]
    assert _sales(engine) == []
    # A manager's replay while the click is still missing: it waits again.
    replayed = client.post(f"/api/v1/integrations/stripe/events/{row['id']}/replay", headers=program.headers)
    assert replayed.status_code == 202, replayed.text
    wait_for(client, program, event["id"], ("waiting",))
    # The periodic retry before the click is written: still waiting; that round is not tried twice.
    assert _retry_click_waits(engine, utc_now() + timedelta(seconds=40)) == [row["id"]]
    wait_for(client, program, event["id"], ("waiting",))
    assert _retry_click_waits(engine, utc_now() + timedelta(seconds=50)) == []
    _write_click(client, engine, program, partner["id"], click_id, utc_now() - timedelta(seconds=3))
    assert _retry_click_waits(engine, utc_now() + timedelta(seconds=70)) == [row["id"]]
    done = wait_for(client, program, event["id"])
    assert done["error"] is None and done["waiting_for"] is None
    assert _waiting(client, program) == []
    [commission] = _commissions(client, program)
    assert (commission["partner_id"], commission["amount"], commission["earnings_amount"]) == (
        partner["id"],
        10000,
        2000,
    )


def test_checkout_whose_click_never_arrives_records_the_sale_unattributed_after_the_wait(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    click_id = new_id()  # lost in a crash before it was written
    event = new_event("checkout.session.completed", _paid_checkout("cus_LOST", "pi_LOST", click_id=click_id))
    row = send(client, program, event, "waiting")
    with transaction(engine) as session:  # it arrived a day and an hour ago
        session.execute(
            update(StripeEvent).where(StripeEvent.id == row["id"]).values(received_at=utc_now() - timedelta(hours=25))
        )
    assert _retry_click_waits(engine, utc_now()) == [row["id"]]
    done = wait_for(client, program, event["id"])
    assert f"click {click_id} was not found within 24 h" in done["error"]
    [sale] = _sales(engine)
    assert (sale.invoice_id, sale.amount, sale.currency) == ("pi_LOST", 10000, "usd")
    assert _commissions(client, program) == []
    with transaction(engine, writes=False) as session:
        customer = session.execute(select(Customer).where(Customer.external_id == "cus_LOST")).scalar_one()
    assert customer.partner_id is None
    assert _retry_click_waits(engine, utc_now() + timedelta(hours=1)) == []


def test_checkout_naming_a_signed_click_that_was_lost_is_credited_at_once_without_waiting(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    link = client.post(
        "/api/v1/links", json={"partner_id": partner["id"], "destination_url": "https://acme.test/"},
        headers=program.headers,
    ).json()  # fmt: skip
    click_id = click_ids().new(link["id"].encode()).decode()  # handed out, then lost in a crash before written
    event = new_event("checkout.session.completed", _paid_checkout("cus_SIG", "pi_SIG", click_id=click_id))
    done = send(client, program, event)
    assert done["error"] is None and done["waiting_for"] is None
    [commission] = _commissions(client, program)
    assert (commission["partner_id"], commission["click_id"], commission["earnings_amount"]) == (
        partner["id"], click_id, 2000,
    )  # fmt: skip
    with transaction(engine, writes=False) as session:
        click = session.execute(select(Click).where(Click.id == click_id)).scalar_one()
    assert (click.link_id, click.partner_id) == (link["id"], partner["id"])


def test_checkout_naming_a_tampered_signed_click_waits_like_an_unknown_one(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    link = client.post(
        "/api/v1/links", json={"partner_id": partner["id"], "destination_url": "https://acme.test/"},
        headers=program.headers,
    ).json()  # fmt: skip
    signed = click_ids().new(link["id"].encode()).decode()
    tampered = signed[:-1] + ("0" if signed[-1] != "0" else "1")
    event = new_event("checkout.session.completed", _paid_checkout("cus_TMP", "pi_TMP", click_id=tampered))
    row = send(client, program, event, "waiting")
    assert row["waiting_for"] == f"click:{tampered}"
    assert _commissions(client, program) == []


def test_checkout_stamped_by_stripe_a_moment_before_the_click_is_written_still_attributes(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    clicked_at = utc_now()
    click_id = make_click(client, engine, program, partner["id"], at=clicked_at)
    # Stripe's `created` has whole seconds, and its clock is not ours: two seconds "before" the click.
    created = int(clicked_at.timestamp()) - 2
    checkout = _paid_checkout("cus_SK", "pi_SK", click_id=click_id)
    send(client, program, new_event("checkout.session.completed", checkout, created=created))
    [commission] = _commissions(client, program)
    assert (commission["partner_id"], commission["earnings_amount"]) == (partner["id"], 2000)


def test_promotion_code_on_invoice_attributes_to_coupon_partner_without_click(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    created = client.post(
        "/api/v1/coupons", json={"code": "Spring20", "partner_id": partner["id"]}, headers=program.headers
    )
    assert created.status_code == 201, created.text
    discount = {
        "id": "di_1",
        "object": "discount",
        "promotion_code": {"id": "promo_1", "object": "promotion_code", "code": "SPRING20"},
    }
    send(client, program, new_event("invoice.paid", paid_invoice("in_P1", "cus_P", discounts=[discount])))
    [commission] = _commissions(client, program)
    assert (commission["partner_id"], commission["earnings_amount"]) == (partner["id"], 2000)


def test_replay_processes_again_without_a_second_sale(
    client: TestClient, engine: Engine, program: ProgramKeys, partner: dict[str, Any]
) -> None:
    event = new_event("invoice.paid", paid_invoice("in_RP", "cus_RP"))
    row = send(client, program, event)
    replayed = client.post(f"/api/v1/integrations/stripe/events/{row['id']}/replay", headers=program.headers)
    assert replayed.status_code == 202, replayed.text
    wait_for(client, program, event["id"])
    assert len(_sales(engine)) == 1
    missing = client.post("/api/v1/integrations/stripe/events/01NOPE/replay", headers=program.headers)
    assert missing.status_code == 404
