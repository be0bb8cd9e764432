"""Benchmark: GET /healthz of a real `partnerloop serve` against a raw ASGI app, in one run, side by side.

    python bench/healthz.py [--duration 10] [--connections 64] [--threads 2] [--rounds 2] [--baseline-ref REF]

Starts, on free ports, the raw ASGI 302 of bench/redirect.py (uvicorn, 1 worker, uvloop, httptools: the
floor of any Python answer on this machine) and `partnerloop serve` on a fresh SQLite file (and, with
`--baseline-ref REF`, the code of git revision REF the same way), then measures each with
`wrk -t2 -c64 -d10s --latency` after a warm-up, alternately for --rounds rounds. Prints requests per second,
p50/p99, the server's CPU per request, and each one's ratio to the raw ASGI answer of the same round.
Needs wrk (`apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from common import extract_revision
from redirect import Variant, ensure_tools, measure, start_partnerloop, start_raw_asgi, stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline-ref", help="also measure the code of this git revision")
    args = parser.parse_args()
    args.database_url, args.click_writer, args.click_cap = None, "process", None  # as start_partnerloop wants
    ensure_tools()
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pl-bench-healthz-") as folder:
        workdir = Path(folder)
        variants = [Variant("this checkout")]
        if args.baseline_ref:
            variants.append(Variant(f"@{args.baseline_ref[:12]}", code=extract_revision(args.baseline_ref, workdir)))
        raw, raw_url = start_raw_asgi(workdir)
        servers = [start_partnerloop(workdir, args, variant, index) for index, variant in enumerate(variants)]
        rates: dict[str, list[float]] = {variant.name: [] for variant in variants}
        ratios: dict[str, list[float]] = {variant.name: [] for variant in variants}
        try:
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}")
                floor, _ = measure("raw ASGI 302", raw_url, raw.pid, args)
                for variant, (server, link_url, _link_id, _db) in zip(variants, servers, strict=True):
                    health_url = link_url.split("/go/")[0] + "/healthz"
                    result, _ = measure(f"{variant.name} GET /healthz", health_url, server.pid, args)
                    if result.errors:
                        print(f"    wrk: {result.errors}")
                    rates[variant.name].append(result.requests_per_s)
                    ratios[variant.name].append(result.requests_per_s / floor.requests_per_s)
                    print(
                        f"    p50 {result.p50_ms:.2f} ms, ratio to raw ASGI {result.requests_per_s / floor.requests_per_s:.2f}"
                    )
        finally:
            for server, *_rest in servers:
                stop(server)
            stop(raw)
    for name in rates:
        print(f"{name}: median {statistics.median(rates[name]):,.0f} req/s, "
              f"{statistics.median(ratios[name]):.2f} of raw ASGI")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
