"""Throughput of POST /api/v1/track/sale against a real `partnerloop serve`, on SQLite and PostgreSQL.

For each database: a fresh database, a program made by the CLI, a lifetime plan, one partner and
CUSTOMERS customers attributed to it by leads (untimed); then N sales with distinct invoices from a
bounded pool of concurrent clients, so that every sale writes a customer look-up, a sale event and a
commission. The baseline is GET /healthz (one `SELECT 1`) from the same clients against the same
server in the same run: the ratio says what tracking a sale costs over the bare HTTP + database path.

With `--baseline-ref REF`, the code of git revision REF (extracted with `git archive`, run from the same
virtualenv) is measured the same way on a fresh database of its own, alternately with this checkout's for
`--rounds` rounds: before/after a change in one run.

PL_BENCH_POSTGRES_URL names another PostgreSQL database (its name must say bench; it is recreated).

Run: python bench/track_sale.py [--sales 3000] [--concurrency 16] [--databases sqlite,postgres]
                                [--baseline-ref REF] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import PARTNERLOOP, extract_revision, free_port, recreate_postgres

POSTGRES_URL = os.environ.get("PL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/pl_bench")
CUSTOMERS = 200
WARMUP = 200
PLAN = {
    "name": "Bench lifetime",
    "rules": [{"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "lifetime"}}],
}


@dataclass
class Figures:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def for_each_database(databases: str, postgres_url: str, run: Callable[[str, str], object]) -> None:
    """Run `run(label, url)` on a fresh SQLite file and/or a recreated PostgreSQL database."""
    for name in databases.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory(prefix="pl-bench-") as folder:
                run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}")
        elif name == "postgres":
            recreate_postgres(postgres_url)
            run("PostgreSQL", postgres_url)
        else:
            sys.exit(f"unknown database {name!r} (sqlite, postgres)")


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PARTNERLOOP, *args], env=env, capture_output=True, text=True, check=True, cwd=env.get("PL_BENCH_CWD")
    )
    return done.stdout


async def run_pool(count: int, concurrency: int, request: Callable[[int], Awaitable[httpx.Response]]) -> Figures:
    """`count` requests from `concurrency` workers; every answer must be 200."""
    latencies: list[float] = []
    next_index = iter(range(count))

    async def worker() -> None:
        for index in next_index:
            started = time.perf_counter()
            response = await request(index)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"request {index}: {response.status_code} {response.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Figures(count, time.perf_counter() - started, latencies)


async def measure(base_url: str, api_key: str, sales: int, concurrency: int) -> tuple[Figures, Figures]:
    headers = {"Authorization": f"Bearer {api_key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60) as client:
        plan = (await client.post("/api/v1/plans", json=PLAN)).json()
        (await client.patch("/api/v1/program", json={"default_plan_id": plan["id"]})).raise_for_status()
        partner = await client.post(
            "/api/v1/partners", json={"email": "b@bench.test", "name": "Bench", "referral_code": "BENCH1"}
        )
        partner.raise_for_status()

        def lead(index: int) -> Awaitable[httpx.Response]:
            body = {"customer_external_id": f"cus_{index}", "referral_code": "BENCH1"}
            return client.post("/api/v1/track/lead", json=body)

        await run_pool(CUSTOMERS, concurrency, lead)

        def sale(prefix: str) -> Callable[[int], Awaitable[httpx.Response]]:
            def post(index: int) -> Awaitable[httpx.Response]:
                body = {
                    "customer_external_id": f"cus_{index % CUSTOMERS}",
                    "amount": 4900 + index % 100,
                    "currency": "usd",
                    "invoice_id": f"{prefix}_{index}",
                }
                return client.post("/api/v1/track/sale", json=body)

            return post

        await run_pool(WARMUP, concurrency, sale("warm"))
        baseline = await run_pool(sales, concurrency, lambda _index: client.get("/healthz"))
        timed = await run_pool(sales, concurrency, sale("inv"))
        listed = (await client.get("/api/v1/commissions", params={"limit": 1})).json()
        assert listed["data"] and listed["data"][0]["kind"] == "sale", listed
        return baseline, timed


@contextmanager
def served_program(
    database_url: str, *serve_options: str, code: Path | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """`partnerloop serve` on a free port with a fresh program: yields (base URL, `program create --json`).
    `code`: a directory holding another revision's `partnerloop` package, served instead of this checkout's
    (run from that directory: `python -m` puts the working directory first on sys.path)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    if code is not None:
        env["PYTHONPATH"] = str(code)
        env["PL_BENCH_CWD"] = str(code)
    created = json.loads(cli(env, "program", "create", "--name", "Bench", "--domain", "bench.test", "--json"))
    port = free_port()
    # The server's log goes to a file: a pipe nobody reads fills up (64 KB: the emails written to the log
    # without SMTP_URL, one per commission) and then blocks the server mid-request, holding SQLite's write
    # lock, so every other sale waited 30 s and got 503 DatabaseBusy.
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [PARTNERLOOP, "serve", "--port", str(port), *serve_options],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=code,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"serve did not start: {log.read().decode(errors='replace')}")
                time.sleep(0.1)
            yield base_url, created
        finally:
            server.terminate()
            server.wait(timeout=60)


def bench_database(label: str, database_url: str, sales: int, concurrency: int, code: Path | None = None) -> Figures:
    with served_program(database_url, code=code) as (base_url, created):
        baseline, timed = asyncio.run(measure(base_url, created["api_key"], sales, concurrency))
    print(
        f"{label:<10} track/sale {timed.per_second:7.0f} sales/s  p50 {timed.percentile(0.5):6.1f} ms  "
        f"p99 {timed.percentile(0.99):6.1f} ms  | baseline GET /healthz {baseline.per_second:7.0f} req/s  "
        f"p50 {statistics.median(baseline.latencies_ms):5.1f} ms  | ratio sale/baseline {timed.per_second / baseline.per_second:.2f}",
        flush=True,
    )
    return timed


def before_after(label: str, database_url: str, args: argparse.Namespace, code: Path) -> None:
    """This checkout and the baseline revision, alternately, each on a fresh database."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.rounds):
        for figures, revision, name in ((ours, None, "this"), (theirs, code, f"@{args.baseline_ref[:12]}")):
            if database_url.startswith("sqlite"):
                url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='pl-bench-')) / 'bench.db'}"
            else:
                recreate_postgres(database_url)
                url = database_url
            figures.append(bench_database(f"{label} {name}", url, args.sales, args.concurrency, revision).per_second)
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"{label}: this checkout {statistics.median(ours):.0f} sales/s, @{args.baseline_ref[:12]} "
          f"{statistics.median(theirs):.0f} sales/s (medians of {args.rounds}): {ratio:.0%} of the baseline's throughput")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--baseline-ref", help="also measure the code of this git revision (before/after in one run)")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds with --baseline-ref")
    args = parser.parse_args()
    print(f"{args.sales} sales with distinct invoices, {args.concurrency} concurrent clients, one serve process")
    if args.baseline_ref is None:
        for_each_database(
            args.databases, POSTGRES_URL, lambda label, url: bench_database(label, url, args.sales, args.concurrency)
        )
        return
    with tempfile.TemporaryDirectory(prefix="pl-bench-code-") as folder:
        code = extract_revision(args.baseline_ref, Path(folder))
        for_each_database(args.databases, POSTGRES_URL, lambda label, url: before_after(label, url, args, code))


if __name__ == "__main__":
    main()
