"""PayPal Payouts API and Stripe Connect against loopback servers speaking their documented shapes;
jobs driven one at a time (with a clock past any backoff), emails through a loopback SMTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.jobs.runner import run_next_job
from partnerloop.kit.time import utc_now
from partnerloop.models import Job, Payout
from tests.conftest import ProgramKeys, make_settings
from tests.notify.smtp import SmtpRecorder
from tests.payout.helpers import assert_exactly_once, earn, partner_with_method
from tests.payout.paypal_server import CLIENT_ID, CLIENT_SECRET, PaypalServer

_clock_hours: list[int] = []  # grows with every job run: the test clock only moves forward


def drain(engine: Engine, rounds: int = 50) -> None:
    """Run every job due, with a clock hours ahead (further each job) so backoffs and poll delays have passed."""
    for _ in range(rounds):
        _clock_hours.append(len(_clock_hours) + 2)
        if not run_next_job(engine, "test-worker", now=utc_now() + timedelta(hours=2 * _clock_hours[-1])):
            return


@pytest.fixture
def paypal() -> Iterator[PaypalServer]:
    with PaypalServer() as server:
        yield server


@pytest.fixture
def pay_client(engine: Engine, database_url: str, paypal: PaypalServer, smtp: SmtpRecorder) -> Iterator[TestClient]:
    settings = make_settings(
        database_url,
        run_jobs_in_process=False,
        paypal_api_base=paypal.url,
        paypal_client_id=CLIENT_ID,
        paypal_client_secret=CLIENT_SECRET,
        payout_poll_seconds=1,
        payout_http_timeout_s=1.0,
        smtp_url=smtp.url,
        stripe_secret_key="sk_test_123",
    )
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client


def statuses(engine: Engine) -> dict[str, str]:
    with transaction(engine, writes=False) as session:
        return {p.partner_id: p.status for p in session.execute(select(Payout)).scalars()}


def test_paypal_batch_pays_fails_one_item_and_emails(
    pay_client: TestClient, program: ProgramKeys, engine: Engine, paypal: PaypalServer, smtp: SmtpRecorder
) -> None:
    good = partner_with_method(
        pay_client, program, {"type": "paypal", "email": "good@example.com"}, email="good@partner.test"
    )
    bad = partner_with_method(
        pay_client, program, {"type": "paypal", "email": "fail@example.com"}, email="bad@partner.test"
    )
    earn(pay_client, program, good, 12000)
    earn(pay_client, program, bad, 8000)
    paypal.state.fail_creates = 1  # the first create answers 500: retried with the same sender_batch_id
    run = pay_client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers).json()
    drain(engine)
    assert statuses(engine) == {good: "paid", bad: "failed"}
    creates = paypal.state.creates()
    assert len(creates) == 2 and len(paypal.state.batches) == 1
    assert (
        creates[0].body["sender_batch_header"]["sender_batch_id"]
        == creates[1].body["sender_batch_header"]["sender_batch_id"]
    )
    assert creates[1].headers["PayPal-Request-Id"] == creates[1].body["sender_batch_header"]["sender_batch_id"]
    items = {item["receiver"]: item for item in creates[1].body["items"]}
    good_payout = next(p for p in run["payouts"] if p["partner_id"] == good)
    assert items["good@example.com"]["amount"] == {"value": "120.00", "currency": "USD"}
    assert items["good@example.com"]["sender_item_id"] == good_payout["id"]
    drain(engine)
    smtp.wait_for(to="good@partner.test", subject="on its way")
    failed_mail = smtp.wait_for(to="bad@partner.test", subject="failed")
    assert "Receiver is unregistered" in failed_mail.text
    balance = pay_client.get(f"/api/v1/partners/{bad}/balance", headers=program.headers).json()["data"]
    assert next(b for b in balance if b["currency"] == "usd")["available_amount"] == 8000
    assert_exactly_once(engine, program.id)


def test_paypal_resend_after_a_lost_answer_finds_the_original_batch(
    pay_client: TestClient, program: ProgramKeys, engine: Engine, paypal: PaypalServer
) -> None:
    partner = partner_with_method(pay_client, program, {"type": "paypal", "email": "pat@example.com"})
    earn(pay_client, program, partner, 9000)
    pay_client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers)
    paypal.state.hang_creates_s = 2.0  # longer than our 1 s timeout: PayPal makes the batch, we never hear
    for _ in range(30):  # the jobs ahead of the send (event fan-out, notices), then the send, which hangs
        drain(engine, rounds=1)
        if paypal.state.batches:
            break
    assert len(paypal.state.batches) == 1 and statuses(engine) == {partner: "processing"}
    paypal.state.hang_creates_s = 0
    drain(engine)
    assert len(paypal.state.batches) == 1  # the resend was refused as a duplicate and linked to the original
    assert len(paypal.state.paid_items()) == 1
    assert statuses(engine) == {partner: "paid"}
    assert_exactly_once(engine, program.id)


class StripeServer:
    """Loopback Stripe: POST /v1/transfers (form-encoded), replaying the first answer per Idempotency-Key."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], dict[str, list[str]]]] = []
        self.transfers: dict[str, dict[str, Any]] = {}
        self.fail_next = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
                outer.calls.append((dict(self.headers), form))
                key = self.headers.get("Idempotency-Key", "")
                if outer.fail_next:
                    outer.fail_next -= 1
                    return self._send(500, {"error": {"type": "api_error", "message": "boom"}})
                if form["destination"][0] == "acct_missing":
                    return self._send(
                        400,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "code": "resource_missing",
                                "message": "No such destination: 'acct_missing'",
                                "param": "destination",
                            }
                        },
                    )
                if key not in outer.transfers:
                    outer.transfers[key] = {
                        "id": f"tr_{len(outer.transfers) + 1}",
                        "object": "transfer",
                        "amount": int(form["amount"][0]),
                        "currency": form["currency"][0],
                        "destination": form["destination"][0],
                    }
                self._send(200, outer.transfers[key])

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_1")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_stripe_connect_transfer_with_idempotency_key_and_a_refused_account(
    engine: Engine, database_url: str, program: ProgramKeys, smtp: SmtpRecorder
) -> None:
    stripe_server = StripeServer()
    settings = make_settings(
        database_url,
        run_jobs_in_process=False,
        stripe_api_base=stripe_server.url,
        stripe_secret_key="sk_test_123",
        smtp_url=smtp.url,
    )
    try:
        with TestClient(create_app(settings), base_url="http://testserver") as client:
            ok = partner_with_method(client, program, {"type": "stripe_connect", "account_id": "acct_ok1"})
            missing = partner_with_method(client, program, {"type": "stripe_connect", "account_id": "acct_missing"})
            earn(client, program, ok, 6000)
            earn(client, program, missing, 6000)
            stripe_server.fail_next = 1
            run = client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers).json()
            drain(engine)
            assert statuses(engine) == {ok: "paid", missing: "failed"}
            ok_payout = next(p for p in run["payouts"] if p["partner_id"] == ok)
            keys = [
                headers["Idempotency-Key"]
                for headers, form in stripe_server.calls
                if form["destination"] == ["acct_ok1"]
            ]
            assert keys == [f"payout-{ok_payout['id']}"] * 2  # the 500 was retried with the same key
            assert len(stripe_server.transfers) == 1
            paid = client.get(f"/api/v1/payouts/{ok_payout['id']}", headers=program.headers).json()
            assert paid["provider_reference"] == "tr_1"
            assert_exactly_once(engine, program.id)
    finally:
        stripe_server.server.shutdown()
        stripe_server.server.server_close()


def test_scheduled_monthly_run_happens_once(pay_client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    partner = partner_with_method(pay_client, program)
    old = earn(pay_client, program, partner, 9000)
    recent = earn(pay_client, program, partner, 4000)
    from partnerloop.models import Commission

    with transaction(engine) as session:  # an old commission (hold over last month) and one from today
        commission = session.get(Commission, old)
        assert commission is not None
        commission.hold_until = utc_now().replace(day=1) - timedelta(days=3)
    patched = pay_client.patch(
        "/api/v1/payouts/settings",
        json={"schedule": "monthly", "day_of_month": 1, "net_days": 0},
        headers=program.headers,
    )
    assert patched.status_code == 200, patched.text
    from partnerloop.jobs.queue import enqueue

    with transaction(engine) as session:
        enqueue(session, "payout_schedule_tick", {})
        enqueue(session, "payout_schedule_tick", {})
    drain(engine)
    with transaction(engine, writes=False) as session:
        runs = session.execute(select(Job.payload).where(Job.kind == "payout_run")).scalars().all()
        payouts = session.execute(select(Payout)).scalars().all()
    assert len(runs) == 1 and len(payouts) == 1 and payouts[0].status == "paid"
    assert payouts[0].amount == 9000  # NET: the commission whose hold ended after the cutoff waits
    with transaction(engine, writes=False) as session:
        waiting = session.get(Commission, recent)
        assert waiting is not None and waiting.status == "approved"


def test_without_provider_credentials_a_payout_waits_for_csv_and_is_never_sent_by_api_later(
    engine: Engine, database_url: str, program: ProgramKeys, paypal: PaypalServer, smtp: SmtpRecorder
) -> None:
    stripe_server = StripeServer()
    bare = make_settings(
        database_url, run_jobs_in_process=False, paypal_api_base=paypal.url, stripe_api_base=stripe_server.url,
        smtp_url=smtp.url,
    )  # fmt: skip
    try:
        with TestClient(create_app(bare), base_url="http://testserver") as client:
            by_paypal = partner_with_method(client, program, {"type": "paypal", "email": "pat@example.com"})
            by_stripe = partner_with_method(client, program, {"type": "stripe_connect", "account_id": "acct_ok1"})
            earn(client, program, by_paypal, 7000)
            earn(client, program, by_stripe, 6000)
            preview = client.post("/api/v1/payouts/runs", json={"preview": True}, headers=program.headers).json()
            assert {p["partner_id"]: p["delivery"] for p in preview["payouts"]} == {by_paypal: "csv", by_stripe: "csv"}
            run = client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers).json()
            assert {p["partner_id"]: (p["status"], p["delivery"]) for p in run["payouts"]} == {
                by_paypal: ("pending", "csv"),
                by_stripe: ("pending", "csv"),
            }
            drain(engine)
            assert paypal.state.calls == [] and stripe_server.calls == []
            assert statuses(engine) == {by_paypal: "pending", by_stripe: "pending"}
            exported = client.get(f"/api/v1/payouts/runs/{run['id']}/export.csv?format=paypal", headers=program.headers)
            assert exported.status_code == 200 and "pat@example.com" in exported.text
            for payout in run["payouts"]:
                paid = client.post(
                    f"/api/v1/payouts/{payout['id']}/mark-paid", json={"reference": "by-hand"}, headers=program.headers
                )
                assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
        configured = make_settings(
            database_url, run_jobs_in_process=False, paypal_api_base=paypal.url, paypal_client_id=CLIENT_ID,
            paypal_client_secret=CLIENT_SECRET, stripe_api_base=stripe_server.url, stripe_secret_key="sk_test_123",
            smtp_url=smtp.url,
        )  # fmt: skip
        with TestClient(create_app(configured), base_url="http://testserver") as client:
            from partnerloop.jobs.queue import enqueue

            with transaction(engine) as session:  # the send jobs, run now that the credentials are there
                for method in ("paypal", "stripe_connect"):
                    enqueue(session, "payout_send", {"program_id": program.id, "run_id": run["id"], "method": method})
            drain(engine)
            assert paypal.state.calls == [] and stripe_server.calls == []
            assert statuses(engine) == {by_paypal: "paid", by_stripe: "paid"}
            for partner in (by_paypal, by_stripe):
                [listed] = client.get(f"/api/v1/payouts?partner_id={partner}", headers=program.headers).json()["data"]
                assert (listed["status"], listed["provider_reference"]) == ("paid", "by-hand")
                balance = client.get(f"/api/v1/partners/{partner}/balance", headers=program.headers).json()["data"]
                usd = next(b for b in balance if b["currency"] == "usd")
                assert (usd["available_amount"], usd["paid_amount"]) == (0, listed["amount"])
            assert_exactly_once(engine, program.id)
    finally:
        stripe_server.server.shutdown()
        stripe_server.server.server_close()


def test_with_provider_credentials_a_payout_goes_by_api_and_stays_out_of_the_csv(
    pay_client: TestClient, program: ProgramKeys, engine: Engine, paypal: PaypalServer
) -> None:
    partner = partner_with_method(pay_client, program, {"type": "paypal", "email": "pat@example.com"})
    earn(pay_client, program, partner, 7000)
    run = pay_client.post("/api/v1/payouts/runs", json={"preview": False}, headers=program.headers).json()
    assert [(p["status"], p["delivery"]) for p in run["payouts"]] == [("pending", "api")]
    exported = pay_client.get(f"/api/v1/payouts/runs/{run['id']}/export.csv?format=paypal", headers=program.headers)
    assert exported.status_code == 200 and "pat@example.com" not in exported.text
    drain(engine)
    assert statuses(engine) == {partner: "paid"} and len(paypal.state.paid_items()) == 1
