"""Stripe in tests: realistic objects from Stripe's published fixtures, events signed exactly as Stripe
signs them, and a loopback server standing in for Stripe's API that records what it got."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi.testclient import TestClient

from tests.conftest import ProgramKeys

# A copy of ../shared/fixtures/stripe (Stripe's published example objects), so a lone clone runs its tests.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe" / "fixtures3-subset.json"
SECRET = "whsec_test_partnerloop_0123456789"
_objects: dict[str, Any] = json.loads(FIXTURES.read_text())


def stripe_object(kind: str, **overrides: Any) -> dict[str, Any]:
    """A deep copy of Stripe's fixture object of `kind` (e.g. 'invoice'), with top-level overrides."""
    obj: dict[str, Any] = copy.deepcopy(_objects[kind])
    obj.update(overrides)
    return obj


def new_event(kind: str, obj: dict[str, Any], *, livemode: bool = False, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created or int(time.time()),
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": kind,
        "data": {"object": obj},
    }


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    """Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "{t}.{payload}")."""
    t = timestamp if timestamp is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_event(client: TestClient, program: ProgramKeys, event: dict[str, Any], secret: str = SECRET) -> Any:
    payload = json.dumps(event).encode()
    return client.post(
        f"/integrations/stripe/webhook/{program.id}",
        content=payload,
        headers={"Stripe-Signature": sign(payload, secret), "Content-Type": "application/json"},
    )


def connect(client: TestClient, program: ProgramKeys, **extra: Any) -> None:
    response = client.patch("/api/v1/program", json={"stripe_webhook_secret": SECRET, **extra}, headers=program.headers)
    assert response.status_code == 200, response.text


def stored_events(client: TestClient, program: ProgramKeys) -> list[dict[str, Any]]:
    response = client.get("/api/v1/integrations/stripe/events?limit=100", headers=program.headers)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def wait_for(
    client: TestClient,
    program: ProgramKeys,
    event_id: str,
    statuses: tuple[str, ...] = ("processed",),
    timeout: float = 15,
) -> dict[str, Any]:
    """The stored event once the job runner has brought it to one of `statuses`."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        for row in stored_events(client, program):
            if row["event_id"] == event_id:
                last = row
                if row["status"] in statuses:
                    return row
        time.sleep(0.05)
    raise AssertionError(f"event {event_id} did not reach {statuses}: {last}")


def send(client: TestClient, program: ProgramKeys, event: dict[str, Any], *statuses: str) -> dict[str, Any]:
    response = post_event(client, program, event)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    return wait_for(client, program, event["id"], statuses or ("processed",))


def paid_invoice(
    invoice_id: str, customer: str, *, total: int = 11900, tax: int = 1900, billing_reason: str = "subscription_create",
    subscription: str | None = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw", product: str = "prod_team", price: str = "price_team_m",
    payment_intent: str | None = None, discounts: list[Any] | None = None, metadata: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Stripe's fixture invoice, paid now: `total` including `tax`, one line of `product`/`price`."""
    invoice = stripe_object("invoice")
    line = invoice["lines"]["data"][0]
    line["pricing"] = {"type": "price_details", "price_details": {"price": price, "product": product}}
    line["amount"] = total - tax
    now = int(time.time())
    invoice.update(
        id=invoice_id,
        customer=customer,
        status="paid",
        billing_reason=billing_reason,
        subtotal=total - tax,
        subtotal_excluding_tax=total - tax,
        total_excluding_tax=total - tax,
        total=total,
        amount_paid=total,
        total_taxes=[{"amount": tax, "tax_behavior": "exclusive", "taxability_reason": "standard_rated"}] if tax else [],
        discounts=discounts or [],
        metadata=metadata or {},
        status_transitions={"finalized_at": now, "paid_at": now, "marked_uncollectible_at": None, "voided_at": None},
        parent={"type": "subscription_details", "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": subscription}} if subscription else None,
    )  # fmt: skip
    if payment_intent is not None:
        invoice["payments"] = {
            "object": "list",
            "data": [
                {"object": "invoice_payment", "payment": {"type": "payment_intent", "payment_intent": payment_intent}}
            ],
        }
    return invoice


def checkout_session(customer: str, *, click_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    session = stripe_object("checkout.session")
    session.update(
        id=f"cs_test_{uuid.uuid4().hex[:20]}",
        customer=customer,
        client_reference_id=click_id,
        mode="subscription",
        status="complete",
        payment_status="paid",
        payment_intent=None,
        subscription="sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
        amount_total=11900,
        currency="usd",
    )
    session.update(overrides)
    return session


def refunded_charge(
    charge_id: str, payment_intent: str, *, amount: int, refunds: list[tuple[str, int]]
) -> dict[str, Any]:
    charge = stripe_object("charge")
    charge.update(
        id=charge_id,
        payment_intent=payment_intent,
        amount=amount,
        amount_captured=amount,
        amount_refunded=sum(value for _, value in refunds),
        refunded=sum(value for _, value in refunds) == amount,
    )
    charge["refunds"]["data"] = [
        {**stripe_object("refund"), "id": refund_id, "amount": value, "charge": charge_id, "created": 1_700_000_000 + i}
        for i, (refund_id, value) in enumerate(refunds)
    ]
    return charge


# ---------------------------------------------------------------- Stripe's API on loopback


@dataclass
class RecordedCall:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeStripe:
    url: str
    calls: list[RecordedCall] = field(default_factory=list)
    fail_with: tuple[int, dict[str, Any]] | None = None
    replays: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # Idempotency-Key -> first answer

    def posts(self, prefix: str) -> list[RecordedCall]:
        """The POSTs whose path starts with `prefix` (e.g. '/v1/coupons')."""
        return [call for call in self.calls if call.method == "POST" and call.path.startswith(prefix)]


@contextmanager
def stripe_api_server(*, keep_alive: bool = False) -> Iterator[FakeStripe]:
    """A real HTTP server on 127.0.0.1 answering /v1/promotion_codes, /v1/coupons and
    /v1/customers/{id}/balance_transactions like Stripe (replaying an Idempotency-Key), recording each call.

    keep_alive: HTTP/1.1 with persistent connections, as Stripe speaks (the benchmark); by default one
    connection per request, so that a test stopping the server leaves no connection answering."""
    state = FakeStripe(url="")

    class Handler(BaseHTTPRequestHandler):
        if keep_alive:
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in separate writes: no 40 ms delayed-ACK stall

        def log_message(self, *_args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode()
            form = dict(parse_qsl(body, keep_blank_values=True))
            state.calls.append(RecordedCall(self.command, self.path, dict(self.headers.items()), form))
            key = self.headers.get("Idempotency-Key")
            if key and key in state.replays:  # Stripe answers a replayed key with the first response
                status, data = state.replays[key]
                self._send(status, data)
                return
            if state.fail_with is not None:
                status, answer = state.fail_with
            elif self.path.startswith("/v1/promotion_codes"):
                status = 200
                promo_id = (
                    self.path.rsplit("/", 1)[-1] if self.path.count("/") > 2 else f"promo_{uuid.uuid4().hex[:14]}"
                )
                answer = stripe_object(
                    "promotion_code", id=promo_id, code=form.get("code", "X"), active=form.get("active") != "false"
                )
            elif self.path.startswith("/v1/coupons"):
                status = 200
                answer = {"id": f"cpn_{uuid.uuid4().hex[:14]}", "object": "coupon", "livemode": False,
                          "percent_off": float(form["percent_off"]) if "percent_off" in form else None,
                          "amount_off": int(form["amount_off"]) if "amount_off" in form else None,
                          "currency": form.get("currency"), "duration": form.get("duration"),
                          "duration_in_months": int(form["duration_in_months"]) if "duration_in_months" in form else None,
                          "name": form.get("name"), "valid": True, "metadata": {}}  # fmt: skip
            elif self.path.startswith("/v1/customers/") and self.path.endswith("/balance_transactions"):
                status = 200
                answer = {"id": f"cbtxn_{uuid.uuid4().hex[:14]}", "object": "customer_balance_transaction",
                          "amount": int(form.get("amount", "0")), "currency": form.get("currency"),
                          "customer": self.path.split("/")[3], "type": "adjustment", "livemode": False,
                          "description": form.get("description"), "metadata": {}}  # fmt: skip
            else:
                status, answer = (
                    404,
                    {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}},
                )
            data = json.dumps(answer).encode()
            if key and self.command == "POST" and status < 300:
                state.replays[key] = (status, data)
            self._send(status, data)

        def _send(self, status: int, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_test")
            self.end_headers()
            self.wfile.write(data)

        do_POST = _answer
        do_GET = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
