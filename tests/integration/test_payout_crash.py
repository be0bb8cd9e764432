"""Payout runs and sends killed with SIGKILL at every step, then restarted: no partner is paid twice,
no commission is lost. Real `partnerloop worker` processes, a real database, loopback PayPal and Stripe
servers that record every call and deduplicate by the provider's idempotency key, as the real ones do.

A killed worker leaves its job `running` under a 60 s lease; the test moves that lease into the past
(the time passing) instead of waiting a minute, then a fresh worker takes the job over.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.jobs import queue
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger
from partnerloop.models import Commission, Job, Payout, PayoutItem, PayoutRun, ProviderBatch
from partnerloop.payout.providers.stripe_connect import idempotency_key
from partnerloop.payout.tasks import RUN_JOB, sender_batch_id
from tests.conftest import ProgramKeys, make_settings
from tests.jobs.processes import Process
from tests.ledger.invariants import check_ledger
from tests.payout.helpers import assert_exactly_once, earn, partner_with_method
from tests.payout.paypal_server import CLIENT_ID, CLIENT_SECRET, PaypalServer
from tests.payout.test_providers import StripeServer

pytestmark = pytest.mark.slow

PAUSE_ENV = "PARTNERLOOP_PAYOUT_PAUSE_AT"
STEPS = [
    "run.before_commit",
    "send.before_commit",
    "submit.before_call",
    "submit.after_call",
    "poll.after_call",
    "stripe.before_call",
    "stripe.after_call",
]
PAYOUT_JOBS = ("payout_run", "payout_send", "payout_paypal_submit", "payout_paypal_poll", "payout_stripe_transfer")


@dataclass
class Book:
    """The program the tests pay: who should be paid what, and who should not."""

    paypal: dict[str, str]  # partner id -> PayPal email, paid
    failing: str  # partner id whose PayPal item fails at the provider
    stripe: str  # partner id paid by Stripe Connect
    below_minimum: str  # partner id skipped (under the minimum payout)
    earned: dict[str, int]  # partner id -> netted approved earnings


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[PaypalServer, StripeServer]]:
    """Loopback PayPal and Stripe, and the environment that points worker processes at them."""
    stripe_server = StripeServer()
    try:
        with PaypalServer() as paypal:
            for name, value in {
                "PAYPAL_API_BASE": paypal.url,
                "PAYPAL_CLIENT_ID": CLIENT_ID,
                "PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
                "STRIPE_API_BASE": stripe_server.url,
                "STRIPE_SECRET_KEY": "sk_test_123",
                "PAYOUT_POLL_SECONDS": "1",
                "PAYOUT_HTTP_TIMEOUT_S": "10",
            }.items():
                monkeypatch.setenv(name, value)
            monkeypatch.delenv(PAUSE_ENV, raising=False)
            monkeypatch.delenv("PAYOUT_ENCRYPTION_KEY", raising=False)
            monkeypatch.delenv("SMTP_URL", raising=False)
            yield paypal, stripe_server
    finally:
        stripe_server.server.shutdown()
        stripe_server.server.server_close()


@pytest.fixture
def book(engine: Engine, database_url: str, program: ProgramKeys) -> Book:
    """Partners with payout methods and approved commissions past their hold, made through the API."""
    settings = make_settings(database_url, run_jobs_in_process=False)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        paypal: dict[str, str] = {}
        earned: dict[str, int] = {}
        for n in range(3):
            email = f"paid-{n}@example.com"
            partner = partner_with_method(client, program, {"type": "paypal", "email": email})
            paypal[partner] = email
            for amount in (3000 + n * 100, 4000, -500):  # a reversal nets the payout
                earn(client, program, partner, amount)
            earned[partner] = 6500 + n * 100
        failing = partner_with_method(client, program, {"type": "paypal", "email": "fail-me@example.com"})
        earn(client, program, failing, 7000)
        earned[failing] = 7000
        stripe = partner_with_method(client, program, {"type": "stripe_connect", "account_id": "acct_crash1"})
        earn(client, program, stripe, 5500)
        earn(client, program, stripe, 2500)
        earned[stripe] = 8000
        below = partner_with_method(client, program, {"type": "paypal", "email": "small@example.com"})
        earn(client, program, below, 1200)  # under the 50.00 minimum: carried to the next run
        earned[below] = 1200
    return Book(paypal, failing, stripe, below, earned)


def _wait_until(condition: Callable[[], bool], timeout: float, what: str, *processes: Process) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            outputs = "\n---\n".join(process.output[-3000:] for process in processes)
            raise AssertionError(f"timed out waiting for {what}; worker output:\n{outputs}")
        time.sleep(0.1)


_started: list[Process] = []


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test() -> Iterator[None]:
    """A worker left behind would run the next test's jobs (without its pause): kill them all."""
    yield
    while _started:
        worker = _started.pop()
        if worker.popen.poll() is None:
            worker.popen.kill()
            worker.popen.wait(timeout=10)


def _start_worker(database_url: str, monkeypatch: pytest.MonkeyPatch, pause_at: str | None = None) -> Process:
    if pause_at:
        monkeypatch.setenv(PAUSE_ENV, pause_at)
    try:
        worker = Process(["worker"], database_url)
    finally:
        monkeypatch.delenv(PAUSE_ENV, raising=False)
    _started.append(worker)
    return worker


def _wait_started(worker: Process) -> None:
    worker.wait_for_line("started", timeout=60)


def _sigkill(worker: Process) -> None:
    worker.popen.kill()
    worker.popen.wait(timeout=10)


def _stop(worker: Process) -> None:
    if worker.popen.poll() is None:
        assert worker.terminate(timeout=30) == 0, worker.output


def _expire_leases(engine: Engine) -> int:
    """The killed worker's lease runs out (60 s in production): its running job may be taken over."""
    with transaction(engine) as session:
        result = session.execute(
            update(Job).where(Job.status == "running").values(locked_until=utc_now() - timedelta(seconds=1))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def _enqueue_run(engine: Engine, program: ProgramKeys, run_key: str) -> None:
    with transaction(engine) as session:
        queue.enqueue(
            session,
            RUN_JOB,
            {"program_id": program.id, "run_key": run_key},
            program_id=program.id,
            unique_key=f"{RUN_JOB}:{program.id}:{run_key}",
        )


def _settled(engine: Engine) -> bool:
    """A run exists, every payout in it is paid or failed, and no payout job is left to run."""
    with transaction(engine, writes=False) as session:
        runs = session.execute(select(func.count()).select_from(PayoutRun)).scalar_one()
        open_payouts = session.execute(
            select(func.count()).select_from(Payout).where(Payout.status.in_(("pending", "processing")))
        ).scalar_one()
        open_jobs = session.execute(
            select(func.count())
            .select_from(Job)
            .where(Job.kind.in_(PAYOUT_JOBS), Job.status.in_(("queued", "running")))
        ).scalar_one()
    return runs >= 1 and open_payouts == 0 and open_jobs == 0


def _state_at_the_kill(engine: Engine, paypal: PaypalServer, stripe_server: StripeServer, step: str) -> None:
    """Prove that the process died where the step says, before its work was committed."""
    with transaction(engine, writes=False) as session:
        runs = session.execute(select(func.count()).select_from(PayoutRun)).scalar_one()
        batches = list(session.execute(select(ProviderBatch)).scalars())
        stripe_payouts = list(session.execute(select(Payout).where(Payout.method == "stripe_connect")).scalars())
    if step == "run.before_commit":
        assert runs == 0 and not paypal.state.calls and not stripe_server.calls
        return
    assert runs == 1
    if step == "send.before_commit":
        assert batches == [] and not paypal.state.calls
    elif step == "submit.before_call":
        assert [batch.status for batch in batches] == ["created"] and not paypal.state.creates()
    elif step == "submit.after_call":  # PayPal made the batch; we never recorded its answer
        assert [batch.status for batch in batches] == ["created"] and len(paypal.state.batches) == 1
    elif step == "poll.after_call":  # PayPal said SUCCESS; we never recorded it
        assert [batch.status for batch in batches] == ["sent"]
        assert any(call.method == "GET" for call in paypal.state.calls)
    elif step == "stripe.before_call":
        assert [p.status for p in stripe_payouts] == ["processing"] and not stripe_server.transfers
    elif step == "stripe.after_call":  # Stripe made the transfer; we never recorded it
        assert [p.status for p in stripe_payouts] == ["processing"] and len(stripe_server.transfers) == 1


def assert_paid_exactly_once(
    engine: Engine, program: ProgramKeys, book: Book, paypal: PaypalServer, stripe_server: StripeServer
) -> None:
    """What the providers moved, what the database says, and what the ledger says all agree."""
    with transaction(engine, writes=False) as session:
        runs = list(session.execute(select(PayoutRun)).scalars())
        payouts = {p.partner_id: p for p in session.execute(select(Payout)).scalars()}
        statuses = {row.id: row.status for row in session.execute(select(Commission.id, Commission.status))}
        owners = {row.id: row.partner_id for row in session.execute(select(Commission.id, Commission.partner_id))}
        live_items = {
            row.commission_id: row.payout_id
            for row in session.execute(
                select(PayoutItem.commission_id, PayoutItem.payout_id).where(PayoutItem.released.is_(False))
            )
        }
        balances = {partner_id: ledger.balance(session, program.id, partner_id, "usd") for partner_id in book.earned}
    assert len(runs) == 1, [run.run_key for run in runs]
    assert len(payouts) == len(book.earned) - 1  # one per partner but the one under the minimum
    assert book.below_minimum not in payouts
    expected_status = {partner: "paid" for partner in [*book.paypal, book.stripe]} | {book.failing: "failed"}
    assert {partner: payout.status for partner, payout in payouts.items()} == expected_status
    for partner, payout in payouts.items():
        assert (payout.amount, payout.source_amount) == (book.earned[partner], book.earned[partner])

    # PayPal: batches deduplicated by sender_batch_id, as PayPal does; each payout one item, once
    creates = paypal.state.creates()
    assert creates, "PayPal was never called"
    for call in creates:
        batch_id = call.body["sender_batch_header"]["sender_batch_id"]
        assert call.headers["PayPal-Request-Id"] == batch_id
        assert batch_id == sender_batch_id([item["sender_item_id"] for item in call.body["items"]])
    items = [entry for entry in paypal.state.paid_items()]
    by_payout: dict[str, list[dict[str, object]]] = {}
    for entry in items:
        by_payout.setdefault(str(entry["item"]["sender_item_id"]), []).append(entry)
    paypal_partners = [*book.paypal, book.failing]
    assert sorted(by_payout) == sorted(payouts[partner].id for partner in paypal_partners)
    assert all(len(entries) == 1 for entries in by_payout.values()), by_payout
    moved = {str(entry["item"]["receiver"]): entry["item"]["amount"] for entry in items if entry["final"] == "SUCCESS"}
    assert moved == {
        email: {"value": f"{book.earned[partner] // 100}.{book.earned[partner] % 100:02d}", "currency": "USD"}
        for partner, email in book.paypal.items()
    }

    # Stripe: every call carries payout-<id>; one transfer per key, so one transfer in all
    stripe_payout = payouts[book.stripe]
    assert stripe_server.calls
    assert {headers["Idempotency-Key"] for headers, _form in stripe_server.calls} == {idempotency_key(stripe_payout.id)}
    assert [(t["destination"], t["amount"]) for t in stripe_server.transfers.values()] == [
        ("acct_crash1", book.earned[book.stripe])
    ]
    assert stripe_payout.provider_reference == next(iter(stripe_server.transfers.values()))["id"]

    # every commission: in exactly one live payout when paid, approved and free otherwise
    for commission_id, status in statuses.items():
        owner = owners[commission_id]
        if owner in (book.failing, book.below_minimum):
            assert status == "approved" and commission_id not in live_items, (commission_id, status)
        else:
            assert status == "paid" and live_items[commission_id] == payouts[owner].id, (commission_id, status)

    # the ledger: paid earnings in `paid`, the failed payout's back in the available balance
    for partner_id, balance in balances.items():
        if partner_id in (book.failing, book.below_minimum):
            assert (balance.available_amount, balance.paid_amount) == (book.earned[partner_id], 0), balance
        else:
            assert (balance.available_amount, balance.paid_amount) == (0, book.earned[partner_id]), balance
    assert_exactly_once(engine, program.id)
    check_ledger(engine, program.id)


@pytest.mark.parametrize("step", STEPS)
def test_a_worker_killed_at_each_payout_step_and_restarted_pays_each_partner_once(
    step: str,
    engine: Engine,
    database_url: str,
    is_postgres: bool,
    program: ProgramKeys,
    book: Book,
    providers: tuple[PaypalServer, StripeServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paypal, stripe_server = providers
    _enqueue_run(engine, program, "monthly:crash")
    doomed = _start_worker(database_url, monkeypatch, pause_at=step)
    doomed.wait_for_line(f"payout checkpoint {step}", timeout=60)
    _sigkill(doomed)
    _state_at_the_kill(engine, paypal, stripe_server, step)
    assert _expire_leases(engine) == 1
    # Restart: on PostgreSQL two workers take over side by side (SKIP LOCKED), on SQLite one.
    workers = [_start_worker(database_url, monkeypatch) for _ in range(2 if is_postgres else 1)]
    for worker in workers:
        _wait_started(worker)  # a SIGTERM during start-up would come before its handler
    _wait_until(lambda: _settled(engine), 60, "the run to be paid", *workers)
    for worker in workers:
        _stop(worker)
    assert_paid_exactly_once(engine, program, book, paypal, stripe_server)


def test_two_runs_started_at_once_by_two_workers_on_postgres_pay_each_partner_once(
    engine: Engine,
    database_url: str,
    is_postgres: bool,
    program: ProgramKeys,
    book: Book,
    providers: tuple[PaypalServer, StripeServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not is_postgres:
        pytest.skip("two workers running jobs side by side is the PostgreSQL deployment")
    paypal, stripe_server = providers
    workers = [_start_worker(database_url, monkeypatch) for _ in range(2)]
    for worker in workers:
        _wait_started(worker)
    with transaction(engine) as session:  # two runs under different keys, due at the same moment
        for run_key in ("manual:left", "manual:right"):
            queue.enqueue(session, RUN_JOB, {"program_id": program.id, "run_key": run_key}, program_id=program.id)
    _wait_until(lambda: _settled(engine), 60, "the run to be paid", *workers)
    for worker in workers:
        _stop(worker)
    with transaction(engine, writes=False) as session:
        run_jobs = session.execute(select(Job.status).where(Job.kind == RUN_JOB)).scalars().all()
    assert run_jobs == ["done", "done"]  # the second found nothing left to pay, and said so
    assert_paid_exactly_once(engine, program, book, paypal, stripe_server)
