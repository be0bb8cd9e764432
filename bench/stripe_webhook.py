"""Throughput of Stripe webhook ingest (verify, store, enqueue, answer) against a real `partnerloop serve`.

For each database: a fresh database, a program made by the CLI with a Stripe signing secret, then N
distinct `invoice.paid` events (Stripe's fixture invoice, ~6 KB each, signed as Stripe signs) from a
bounded pool of concurrent clients. The server runs with `--no-jobs`: the answer never waits for
processing, so this measures ingest alone; the events are checked to be stored and queued afterwards.
Baseline: GET /healthz (one `SELECT 1`) from the same clients against the same server in the same run.

Run: python bench/stripe_webhook.py [--events 3000] [--concurrency 16] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from track_sale import Figures, for_each_database, run_pool, served_program

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/pl_bench_e"
SECRET = "whsec_bench_0123456789abcdef"
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "stripe" / "fixtures3-subset.json"
WARMUP = 200


def signed_events(count: int, prefix: str) -> list[tuple[bytes, str]]:
    invoice = json.loads(FIXTURES.read_text())["invoice"]
    now = int(time.time())
    events = []
    for index in range(count):
        obj = copy.deepcopy(invoice)
        obj.update(id=f"in_{prefix}{index}", customer=f"cus_{index % 500}", status="paid")
        event = {"id": f"evt_{prefix}{index}", "object": "event", "type": "invoice.paid", "created": now,
                 "livemode": False, "api_version": "2026-10-28.endive", "data": {"object": obj}}  # fmt: skip
        payload = json.dumps(event).encode()
        digest = hmac.new(SECRET.encode(), f"{now}.".encode() + payload, hashlib.sha256).hexdigest()
        events.append((payload, f"t={now},v1={digest}"))
    return events


async def measure(
    base_url: str, program_id: str, api_key: str, count: int, concurrency: int
) -> tuple[Figures, Figures]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        (
            await client.patch("/api/v1/program", json={"stripe_webhook_secret": SECRET}, headers=headers)
        ).raise_for_status()

        def poster(events: list[tuple[bytes, str]]) -> Callable[[int], Awaitable[httpx.Response]]:
            def post(index: int) -> Awaitable[httpx.Response]:
                payload, signature = events[index]
                return client.post(
                    f"/integrations/stripe/webhook/{program_id}",
                    content=payload,
                    headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
                )

            return post

        await run_pool(WARMUP, concurrency, poster(signed_events(WARMUP, "warm")))
        baseline = await run_pool(count, concurrency, lambda _index: client.get("/healthz"))
        timed = await run_pool(count, concurrency, poster(signed_events(count, "bench")))
        listed = (await client.get("/api/v1/integrations/stripe/events", params={"status": "received", "limit": 1},
                                   headers=headers)).json()  # fmt: skip
        assert listed["data"], listed
        return baseline, timed


def bench_database(label: str, database_url: str, count: int, concurrency: int) -> None:
    with served_program(database_url, "--no-jobs") as (base_url, created):
        baseline, timed = asyncio.run(measure(base_url, created["id"], created["api_key"], count, concurrency))
    print(
        f"{label:<10} webhook {timed.per_second:7.0f} events/s  p50 {timed.percentile(0.5):6.1f} ms  "
        f"p99 {timed.percentile(0.99):6.1f} ms  | baseline GET /healthz {baseline.per_second:7.0f} req/s  "
        f"p50 {statistics.median(baseline.latencies_ms):5.1f} ms  | ratio webhook/baseline "
        f"{timed.per_second / baseline.per_second:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    print(
        f"{args.events} signed invoice.paid events, {args.concurrency} concurrent clients, one serve process (--no-jobs)"
    )
    for_each_database(
        args.databases, POSTGRES_URL, lambda label, url: bench_database(label, url, args.events, args.concurrency)
    )


if __name__ == "__main__":
    main()
