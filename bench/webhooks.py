"""Outbound webhooks on PostgreSQL: delivery throughput of `partnerloop worker` processes to a loopback
receiver, and what subscribed endpoints cost the tracking paths, in one run.

1. Delivery: EVENTS events are emitted (untimed, through webhook/service.emit, one endpoint subscribed
   to "*"), then WORKERS `partnerloop worker` processes are started and timed until every delivery has
   succeeded. Every request is signed; the receiver (http.server threads, keep-alive) checks a sample
   with the official standardwebhooks verifier.
2. Tracking: `partnerloop serve --no-jobs`, the same receiver; GET /go/{key} and POST /api/v1/track/sale
   from concurrent clients, first with no endpoint, then with 5 endpoints subscribed to "*" (each sale
   then writes one outbox row per event in its transaction; a worker fans them out). No worker runs while they are
   measured (the request path alone; on 2 cores a worker's CPU would be measured too), then one
   `partnerloop worker` delivers the backlog, all of which must succeed. The ratio with/without is
   what webhooks cost tracking.

Run: python bench/webhooks.py [--events 10000] [--workers 2] [--requests 3000] [--concurrency 16] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from common import PARTNERLOOP, recreate_postgres
from standardwebhooks.webhooks import Webhook
from track_sale import PLAN, Figures, run_pool, served_program

# BENCH_WEBHOOKS_DATABASE_URL: another database (its name must say bench; it is dropped and recreated).
POSTGRES_URL = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/pl_bench_webhooks")
ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """Answers 204 to every POST; keeps the count and a sample of requests to verify."""

    def __init__(self) -> None:
        self.count = 0
        self.sample: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.count += 1
                    if receiver.count % 500 == 1:
                        receiver.sample.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "ALLOW_PRIVATE_WEBHOOKS": "1",
        "JOB_POLL_INTERVAL_MS": "50",
        "PYTHONPATH": str(ROOT),
    }


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([PARTNERLOOP, *args], env=env, capture_output=True, text=True, check=True).stdout


def _emit_events(database_url: str, program_id: str, count: int) -> None:
    """Emit `count` sale.created events in batches of 500 per transaction (as a busy API would)."""
    os.environ.update({"DATABASE_URL": database_url, "ALLOW_PRIVATE_WEBHOOKS": "1"})
    sys.path.insert(0, str(ROOT))
    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.webhook.service import emit

    engine = get_engine(Settings(database_url=database_url))
    for start in range(0, count, 500):
        with transaction(engine) as session:
            for index in range(start, min(count, start + 500)):
                emit(session, program_id, "sale.created", {"id": f"sale_{index}", "amount": 4900, "currency": "usd"})
    engine.dispose()


def _succeeded(database_url: str) -> tuple[int, int]:
    """(succeeded, all) deliveries; `all` counts an event not yet fanned out as one more."""
    import psycopg

    with psycopg.connect(database_url) as connection:
        # One statement, one snapshot: counted in two, a fan-out committing in between ended the wait early.
        row = connection.execute(
            "SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'),"
            " (SELECT count(*) FROM webhook_deliveries),"
            " (SELECT count(*) FROM jobs WHERE kind = 'webhook.fanout' AND status IN ('queued', 'running'))"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1]) + int(row[2])


def bench_delivery(events: int, workers: int, receiver: Receiver) -> float:
    recreate_postgres(POSTGRES_URL)
    env = environment(POSTGRES_URL)
    created = json.loads(cli(env, "program", "create", "--name", "Bench", "--domain", "bench.test", "--json"))
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    # The API refuses loopback unless ALLOW_PRIVATE_WEBHOOKS=1: insert the endpoint through the service.
    os.environ.update({"DATABASE_URL": POSTGRES_URL, "ALLOW_PRIVATE_WEBHOOKS": "1"})
    sys.path.insert(0, str(ROOT))
    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.models import Program
    from partnerloop.webhook import service
    from partnerloop.webhook.schemas import EndpointIn

    service.configure_webhooks(Settings(database_url=POSTGRES_URL, allow_private_webhooks=True))
    engine = get_engine(Settings(database_url=POSTGRES_URL))
    with transaction(engine) as session:
        program = session.get(Program, created["id"])
        assert program is not None
        _endpoint, secret = service.create_endpoint(
            session, program, EndpointIn(url=receiver.url("/deliver"), events=["*"])
        )
    engine.dispose()
    del headers
    _emit_events(POSTGRES_URL, created["id"], events)
    before = receiver.count
    started = time.perf_counter()
    processes = [
        subprocess.Popen([PARTNERLOOP, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    first_request: float | None = None
    try:
        while True:
            if first_request is None and receiver.count > before:
                first_request = time.perf_counter()
            done, total = _succeeded(POSTGRES_URL)
            if done >= total:
                break
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {done} of {total} deliveries after 600 s")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        steady = time.perf_counter() - (first_request or started)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    delivered = receiver.count - before
    for request_headers, body in receiver.sample:
        Webhook(secret).verify(body, request_headers)
    rate = events / steady
    print(
        f"delivery   {events} events -> {delivered} signed POSTs by {workers} workers: {rate:6.0f} deliveries/s "
        f"from the first request ({steady:5.2f} s; {events / elapsed:4.0f}/s counting the workers' start, "
        f"{elapsed:5.2f} s); {len(receiver.sample)} sampled requests verified"
    )
    return rate


async def _tracking(
    base_url: str, api_key: str, requests: int, concurrency: int, prefix: str
) -> tuple[Figures, Figures]:
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as client:
        partner = (await client.post("/api/v1/partners", json={"email": "b@bench.test", "name": "Bench"})).json()
        link = (
            await client.post(
                "/api/v1/links", json={"partner_id": partner["id"], "destination_url": "https://bench.test/"}
            )
        ).json()
        await asyncio.sleep(1.0)  # the link cache picks the new link up

        def redirect(_index: int) -> Any:
            return client.get(f"/go/{link['key']}", follow_redirects=False)

        async def go(index: int) -> httpx.Response:
            response = await redirect(index)
            return httpx.Response(200) if response.status_code == 302 else response

        def sale(index: int) -> Any:
            body = {
                "customer_external_id": f"cus_{index % 200}",
                "amount": 4900,
                "currency": "usd",
                "invoice_id": f"{prefix}_{index}",
                "click_id": None,
            }
            return client.post("/api/v1/track/sale", json={k: v for k, v in body.items() if v is not None})

        await run_pool(200, concurrency, go)
        redirects = await run_pool(requests, concurrency, go)  # before any sale: no webhook row exists yet
        await run_pool(200, concurrency, lambda index: sale(index + 10**6))
        sales = await run_pool(requests, concurrency, sale)
        return redirects, sales


def bench_tracking(requests: int, concurrency: int, receiver: Receiver, rounds: int) -> None:
    """Alternates 0 and 5 endpoints `rounds` times (the machine is shared: alternating spreads its noise)."""
    runs: list[tuple[int, Figures, Figures, int]] = []
    for endpoints in [count for _round in range(rounds) for count in (0, 5)]:
        recreate_postgres(POSTGRES_URL)
        env = environment(POSTGRES_URL)
        os.environ.update({k: v for k, v in env.items() if k in ("ALLOW_PRIVATE_WEBHOOKS", "PYTHONPATH")})
        with served_program(POSTGRES_URL, "--no-jobs") as (base_url, created):
            api_key = created["api_key"]
            with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}) as client:
                plan = client.post("/api/v1/plans", json=PLAN).json()
                client.patch("/api/v1/program", json={"default_plan_id": plan["id"]}).raise_for_status()
                for index in range(endpoints):
                    client.post(
                        "/api/v1/webhook-endpoints", json={"url": receiver.url(f"/t{index}"), "events": ["*"]}
                    ).raise_for_status()
            # Measured with no worker running: the request path alone (its inserts), not a worker's CPU on
            # this 2-core machine. Then a worker delivers the backlog, which must all succeed.
            before = receiver.count
            redirects, sales = asyncio.run(_tracking(base_url, api_key, requests, concurrency, f"e{endpoints}"))
            worker = subprocess.Popen(
                [PARTNERLOOP, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                deadline = time.monotonic() + 600
                while True:
                    done, total = _succeeded(POSTGRES_URL)
                    if done >= total or time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
                received = receiver.count - before
            finally:
                worker.terminate()
                worker.wait(timeout=60)
        runs.append((endpoints, redirects, sales, received))
    for endpoints, redirects, sales, received in runs:
        print(
            f"{endpoints} endpoints  GET /go/ {redirects.per_second:7.0f} req/s p50 {redirects.percentile(0.5):5.1f} ms"
            f"  | track/sale {sales.per_second:6.0f} sales/s p50 {sales.percentile(0.5):5.1f} ms"
            f" p99 {sales.percentile(0.99):6.1f} ms  | then delivered: {received} signed POSTs"
        )

    def best(endpoints: int, pick: int) -> float:
        return max(run[pick].per_second for run in runs if run[0] == endpoints)  # type: ignore[attr-defined]

    print(
        f"ratio with/without 5 endpoints (best of {rounds} each): redirect {best(5, 1) / best(0, 1):.2f}, "
        f"track/sale {best(5, 2) / best(0, 2):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-tracking", action="store_true")
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args()
    receiver = Receiver()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"PostgreSQL ({POSTGRES_URL}); receiver on 127.0.0.1:{receiver.port}; load average {load}")
    if not args.skip_delivery:
        bench_delivery(args.events, args.workers, receiver)
    if not args.skip_tracking:
        bench_tracking(args.requests, args.concurrency, receiver, args.rounds)
    print("load average at the end " + ", ".join(f"{value:.1f}" for value in os.getloadavg()))


if __name__ == "__main__":
    main()
