"""Benchmark: API writes while the redirect is under load, with each click writer, in one run.

    python bench/mixed_load.py [--seconds 10] [--connections 64] [--writers process,inline] [--database-url URL]

For each click writer (`CLICK_WRITER=process`, what `serve` runs, and `inline`), starts `partnerloop serve`
on a fresh SQLite file (or the given PostgreSQL database, recreated), creates a program, a partner and a
link, then creates partners one after the other through `POST /api/v1/partners` (a write transaction):
first for --seconds on an idle server (the baseline), then for --seconds while `wrk` follows the link
from --connections connections. Prints the write latencies (p50, p99, max), how many writes were made,
and the redirects per second wrk got meanwhile; then checks that every redirect answered was stored.

On SQLite the clicks and the API's writes share one database write lock: this shows what a merchant's
API calls pay while a link is busy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import PARTNERLOOP, free_port, recreate_postgres
from redirect import USER_AGENT, ensure_tools, stop, stored_clicks, wait_for_port


def write_latencies(client: httpx.Client, seconds: float, label: str) -> list[float]:
    """Create partners one after the other for `seconds`; the latency of each, in ms."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        answer = client.post("/api/v1/partners", json={"email": f"{label}-{len(latencies)}@example.com", "name": "P"})
        if answer.status_code != 201:
            sys.exit(f"POST /api/v1/partners answered {answer.status_code}: {answer.text}")
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{len(ordered):>6,} writes  p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  max {ordered[-1]:7.1f} ms"


def run(writer: str, args: argparse.Namespace, workdir: Path) -> bool:
    if args.database_url:
        recreate_postgres(args.database_url)
        database_url = args.database_url
    else:
        database_url = f"sqlite:///{workdir / f'{writer}.db'}"
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development", "CLICK_WRITER": writer}
    created = subprocess.run([PARTNERLOOP, "program", "create", "--name", "Mixed", "--domain", "shop.example",
                              "--json"], env=env, capture_output=True, text=True, check=True)  # fmt: skip
    api_key = json.loads(created.stdout)["api_key"]
    port = free_port()
    log = workdir / f"{writer}.log"
    with log.open("wb") as output:
        server = subprocess.Popen([PARTNERLOOP, "serve", "--port", str(port)], env=env, stdout=output,
                                  stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, server, log)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {api_key}"}, timeout=30) as client:
            partner = client.post("/api/v1/partners", json={"email": "links@example.com", "name": "L"}).json()
            link = client.post("/api/v1/links", json={"partner_id": partner["id"], "key": "busy",
                                                      "destination_url": "https://shop.example/"}).json()  # fmt: skip
            idle = write_latencies(client, args.seconds, "idle")
            load = subprocess.Popen(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds + 2}s", "-H",
                                     f"User-Agent: {USER_AGENT}", f"{base}/go/busy"],
                                    stdout=subprocess.PIPE, text=True)  # fmt: skip
            time.sleep(1)
            loaded = write_latencies(client, args.seconds, "loaded")
            output = load.communicate()[0]
    finally:
        stop(server)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    answered = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    stored = stored_clicks(database_url, link["id"])
    print(f"{writer:<8} idle        {summary(idle)}")
    print(f"{writer:<8} click load  {summary(loaded)}   redirects {rate:,.0f}/s, "
          f"{stored:,} clicks stored for {answered:,} answered")  # fmt: skip
    return 0 <= stored - answered <= args.connections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--writers", default="process,inline")
    parser.add_argument("--database-url", help="a PostgreSQL database (recreated) instead of SQLite files")
    args = parser.parse_args()
    ensure_tools()
    print(f"POST /api/v1/partners one after the other, idle then under wrk -c{args.connections} on a link; "
          f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pl-mixed-bench-") as tmp:
        results = [run(writer, args, Path(tmp)) for writer in args.writers.split(",")]
    if not all(results):
        sys.exit("clicks: LOST")


if __name__ == "__main__":
    main()
