"""The events of one purchase, delivered in any order and with repeats, end in the same commissions,
the same ledger and the same sales as Stripe's own order: Stripe does not promise an order."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from partnerloop.db import transaction
from partnerloop.models import Event
from tests.commission.factories import make_click, make_partner, make_plan
from tests.conftest import ProgramKeys, make_program
from tests.integrations.stripe_kit import (
    checkout_session,
    connect,
    new_event,
    paid_invoice,
    post_event,
    refunded_charge,
    stored_events,
    stripe_object,
)

SETTLED = ("processed", "ignored", "failed", "waiting")

# Stripe's own order of the purchase's events (names only: the objects are made per program).
IN_STRIPE_ORDER = (
    "customer.created",
    "checkout.session.completed",
    "invoice.paid",
    "invoice.payment_succeeded",
    "invoice_payment.paid",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
)


def _purchase(click_id: str) -> dict[str, dict[str, Any]]:
    """One subscription bought through a partner's click: 119.00 usd (19.00 tax), a quarter refunded,
    then the rest disputed and the dispute won."""
    invoice = paid_invoice("in_O1", "cus_O", payment_intent="pi_O1")
    dispute = {"id": "dp_O1", "object": "dispute", "charge": "ch_O1", "payment_intent": "pi_O1", "amount": 8925,
               "currency": "usd", "status": "needs_response", "reason": "fraudulent"}  # fmt: skip
    invoice_payment = {"id": "inpay_O1", "object": "invoice_payment", "invoice": "in_O1", "status": "paid",
                       "amount_paid": 11900, "currency": "usd",
                       "payment": {"type": "payment_intent", "payment_intent": "pi_O1", "charge": "ch_O1"}}  # fmt: skip
    objects = {
        "customer.created": stripe_object("customer", id="cus_O", metadata={"plan": "team"}),
        "checkout.session.completed": checkout_session("cus_O", click_id=click_id),
        "invoice.paid": invoice,
        "invoice.payment_succeeded": invoice,
        "invoice_payment.paid": invoice_payment,
        "charge.refunded": refunded_charge("ch_O1", "pi_O1", amount=11900, refunds=[("re_O1", 2975)]),
        "charge.dispute.created": dispute,
        "charge.dispute.closed": {**dispute, "status": "won"},
    }
    created = int(time.time()) - 60  # Stripe's times, in its order, a minute after the click
    return {name: new_event(name, objects[name], created=created + i) for i, name in enumerate(IN_STRIPE_ORDER)}


def _settle(client: TestClient, program: ProgramKeys, event_id: str | None = None, timeout: float = 20) -> None:
    """Wait until `event_id` (else every stored event) is settled and nothing is left to process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stored_events(client, program)
        mine = [row for row in rows if event_id is None or row["event_id"] == event_id]
        if mine and all(row["status"] in SETTLED for row in mine):
            return
        time.sleep(0.03)
    raise AssertionError(f"events did not settle: {stored_events(client, program)}")


def _end_state(client: TestClient, engine: Engine, program: ProgramKeys, partner_id: str) -> dict[str, Any]:
    """What a manager sees: commissions, the partner's balance, the sales and refunds, event statuses."""
    commissions = client.get("/api/v1/commissions?limit=100", headers=program.headers)
    balance = client.get(f"/api/v1/partners/{partner_id}/balance", headers=program.headers)
    assert commissions.status_code == balance.status_code == 200, (commissions.text, balance.text)
    with transaction(engine, writes=False) as session:
        tracked = session.execute(
            select(Event.kind, Event.invoice_id, Event.amount, Event.currency).where(Event.program_id == program.id)
        ).all()
    return {
        "commissions": sorted(
            (c["partner_id"] == partner_id, c["status"], c["amount"], c["earnings_amount"], c["earnings_currency"])
            for c in commissions.json()["data"]
        ),
        "balance": balance.json()["data"],
        "tracked": sorted(tuple(row) for row in tracked),
        "events": sorted((row["type"], row["status"]) for row in stored_events(client, program)),
    }


def _run(client: TestClient, engine: Engine, deliveries: list[str]) -> dict[str, Any]:
    """A fresh program and partner, the purchase's events delivered as `deliveries` (names; a name
    again is Stripe delivering the same event again); the end state."""
    name = f"Shop {uuid.uuid4().hex[:8]}"
    program = make_program(engine, name=name, email=f"owner-{uuid.uuid4().hex[:8]}@example.com")
    connect(client, program)
    make_plan(client, program)  # 20% of sales
    partner = make_partner(client, program)
    events = _purchase(make_click(client, engine, program, partner["id"]))
    for delivered in deliveries:
        response = post_event(client, program, events[delivered])
        assert response.status_code == 200, response.text
        _settle(client, program, events[delivered]["id"])
    _settle(client, program)
    return _end_state(client, engine, program, partner["id"])


_expected: dict[str, Any] = {}


def _in_stripe_order(client: TestClient, engine: Engine) -> dict[str, Any]:
    """The end state of the purchase delivered in Stripe's order, once per test session and database."""
    if not _expected:
        _expected.update(_run(client, engine, list(IN_STRIPE_ORDER)))
        commissions = _expected["commissions"]
        assert any(is_partner and earnings > 0 for is_partner, _s, _a, earnings, _c in commissions), commissions
        assert all(status == "processed" for _type, status in _expected["events"]), _expected["events"]
    return _expected


@st.composite
def deliveries(draw: st.DrawFn) -> list[str]:
    """A permutation of the purchase's events with up to three repeats anywhere after their first delivery."""
    order = list(draw(st.permutations(IN_STRIPE_ORDER)))
    for repeated in draw(st.lists(st.sampled_from(IN_STRIPE_ORDER), max_size=3)):
        first = order.index(repeated)
        order.insert(draw(st.integers(first + 1, len(order))), repeated)
    return order


@settings(
    max_examples=15,  # each example is a whole purchase through the API and the job runner (~1-2 s)
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=deliveries())
def test_any_order_of_a_purchases_events_ends_as_in_stripes_order(
    client: TestClient, engine: Engine, order: list[str]
) -> None:
    expected = _in_stripe_order(client, engine)
    assert _run(client, engine, order) == expected, order
