"""Benchmark: the real redirect (GET /go/{key}, click recorded) against baselines, in one run, side by side.

    python bench/redirect.py [--duration 10] [--connections 64] [--threads 2] [--rounds 3]
                             [--click-rule] [--baseline-ref REF] [--unique-visitors]

Starts, on free ports:
  raw ASGI   a minimal raw-ASGI 302 (`raw_asgi_redirect` below) under uvicorn, 1 worker,
             --loop uvloop --http httptools, access log off;
  partnerloop  `partnerloop serve` (1 worker; uvicorn picks uvloop and httptools, access log off) on a
             fresh SQLite file with one seeded link, the click buffer, its writer process and the link
             cache as in production (`--click-writer inline` writes clicks in the server's process);
and, each on a database of its own, the variants asked for: `--click-rule` serves a second program
whose plan pays 1 cent a click (every unique human click is priced in the writer's batch; `--click-cap N`
pays up to N a partner and day instead of the default cap);
`--baseline-ref REF` serves the code of git revision REF (extracted with `git archive`, run from the
same virtualenv) to compare before/after a change in one run. `--unique-visitors` makes every request
another visitor (a client address of its own, through a wrk script), so that clicks are unique and a click
rule prices each; otherwise all requests come from one visitor, as before.
It measures them with `wrk -t2 -c64 -d10s --latency` after a short warm-up, alternately for --rounds
rounds (this machine's speed drifts from minute to minute: alternating makes each ratio compare like
with like); then nginx `return 302` with one worker process, when nginx is installed. Prints requests
per second, p50 and p99 latency, the ratio to raw ASGI of the same round, server CPU per request and
resident memory, the medians over the rounds, and then checks that every redirect partnerloop answered
was recorded as a click once the server has flushed and stopped.

Needs wrk (and nginx for the third line): `apt-get install -y wrk nginx-light`; the script installs
them with apt-get when it can and they are missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import BIN, PARTNERLOOP, extract_revision, free_port, recreate_postgres

# uvicorn imports this module for the raw ASGI baseline: heavier imports live inside the functions that
# need them, so that the baseline process stays minimal.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
LINK_KEY = "bench"


async def raw_asgi_redirect(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The baseline: a fixed 302, no routing, no state, no I/O."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({
        "type": "http.response.start",
        "status": 302,
        "headers": [(b"location", b"https://shop.example/?pl_cid=01jd0000000000000000000000"), (b"content-length", b"0")],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": b""})


@dataclass
class Result:
    name: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str
    rss_mb: float | None
    cpu_us_per_request: float  # server CPU time (all its threads and worker processes) per answered request
    busy_before: float  # share of the machine's CPU in use by anything just before the run


def ensure_tools() -> None:
    missing = [package for tool, package in (("wrk", "wrk"), ("nginx", "nginx-light")) if not shutil.which(tool)]
    if missing and shutil.which("apt-get") and os.geteuid() == 0:
        print(f"installing {' '.join(missing)} with apt-get …", flush=True)
        subprocess.run(["apt-get", "install", "-y", *missing], check=False, capture_output=True)
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install -y wrk")


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited early:\n{log.read_text()}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"server did not listen on {port}:\n{log.read_text()}")


def process_tree(pid: int) -> list[int]:
    """The process and its children (nginx's worker; uvicorn runs one process for one worker)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    return pids


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over `seconds` (other sessions' load makes every figure noisier)."""

    def sample() -> tuple[int, int]:
        values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    return (busy_after - busy_before) / max(1, total_after - total_before)


def rss_mb(pid: int) -> float | None:
    """Resident memory of the process and its children."""
    total_kb = 0
    for each in process_tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total_kb += int(match.group(1)) if match else 0
    return total_kb / 1024 if total_kb else None


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


# Every request another visitor: another client address (X-Forwarded-For, which uvicorn takes from a
# loopback proxy), one per /24 as the click writer truncates them, with the same browser's user agent.
UNIQUE_VISITORS_LUA = """
local n = 0
local salt = tonumber(tostring({}):sub(-4), 16)
request = function()
  n = n + 1
  local ip = (20 + (salt + math.floor(n / 65536)) % 200) .. "." .. (math.floor(n / 256) % 256) .. "." .. (n % 256) .. ".7"
  return wrk.format("GET", nil, {["X-Forwarded-For"] = ip, ["User-Agent"] = "UA"})
end
""".replace("UA", USER_AGENT)
WRK_SCRIPT: Path | None = None  # set by main() with --unique-visitors


def run_wrk(url: str, seconds: int, connections: int, threads: int) -> tuple[float, float, float, int, str]:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"User-Agent: {USER_AGENT}",
               url]  # fmt: skip
    if WRK_SCRIPT is not None:
        command[1:1] = ["-s", str(WRK_SCRIPT)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = ", ".join(line.strip() for line in output.splitlines() if "errors" in line or "Non-2xx" in line)
    return rate, _ms(*p50.groups()), _ms(*p99.groups()), total, errors  # type: ignore[union-attr]


def measure(name: str, url: str, pid: int, args: argparse.Namespace) -> tuple[Result, int]:
    """wrk against `url` after a warm-up; the result and the requests answered, warm-up included."""
    warm = run_wrk(url, args.warmup, args.connections, args.threads)[3]
    busy = machine_busy()
    cpu_before = cpu_seconds(pid)
    rate, p50, p99, total, errors = run_wrk(url, args.duration, args.connections, args.threads)
    cpu_us = (cpu_seconds(pid) - cpu_before) / max(1, total) * 1e6
    print(f"  {name}: {rate:,.0f} req/s, p99 {p99:.2f} ms, {cpu_us:.1f} µs CPU per request "
          f"(machine {busy:.0%} busy just before)", flush=True)  # fmt: skip
    return Result(name, rate, p50, p99, total, errors, rss_mb(pid), cpu_us, busy), warm + total


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_raw_asgi(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = workdir / "raw.log"
    command = [str(BIN / "uvicorn"), "redirect:raw_asgi_redirect", "--app-dir", str(Path(__file__).parent),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http",
               "httptools", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, server, log)
    except BaseException:
        stop(server)
        raise
    return server, f"http://127.0.0.1:{port}/go/{LINK_KEY}"


def bench_nginx(workdir: Path, args: argparse.Namespace) -> Result | None:
    nginx = shutil.which("nginx")
    if nginx is None:
        print("  nginx: not installed, skipped")
        return None
    port = free_port()
    prefix = workdir / "nginx"
    (prefix / "logs").mkdir(parents=True)
    config = prefix / "nginx.conf"
    config.write_text(f"""
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 302 "https://shop.example/?pl_cid=01jd0000000000000000000000"; }}
    }}
}}
""")
    log = workdir / "nginx.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [nginx, "-p", str(prefix), "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(port, server, log)
        return measure("nginx return 302", f"http://127.0.0.1:{port}/go/{LINK_KEY}", server.pid, args)[0]
    finally:
        stop(server)


def fresh_database(url: str | None, workdir: Path) -> str:
    """A fresh SQLite file, or the given PostgreSQL database dropped and created again."""
    if url is None:
        return f"sqlite:///{workdir / 'bench.db'}"
    recreate_postgres(url)
    return url


@dataclass
class Variant:
    """One partnerloop server of the run: its name, whether its plan pays clicks, and its code (None: this
    checkout's; else a directory holding another revision's `partnerloop` package)."""

    name: str
    click_rule: bool = False
    code: Path | None = None


def start_partnerloop(
    workdir: Path, args: argparse.Namespace, variant: Variant, index: int
) -> tuple[subprocess.Popen[bytes], str, str, str]:
    """`partnerloop serve` with one link; returns the server, the link's URL and id, and the database URL."""
    import httpx

    home = workdir / f"variant-{index}"
    home.mkdir()
    database_url = args.database_url
    if database_url is not None and index:
        database_url = f"{database_url}_{index}"
    database_url = fresh_database(database_url, home)
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development", "CLICK_WRITER": args.click_writer}
    if variant.code is not None:
        env["PYTHONPATH"] = str(variant.code)  # before the virtualenv's editable install of this checkout
    created = subprocess.run(
        [PARTNERLOOP, "program", "create", "--name", "Bench", "--domain", "shop.example", "--json"],
        env=env, capture_output=True, text=True, check=True, cwd=home,
    )  # fmt: skip
    api_key = json.loads(created.stdout)["api_key"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = home / "partnerloop.log"
    # cwd: `python -m` puts the working directory first on sys.path (the click writer process would
    # import this checkout's code instead of PYTHONPATH's when run from the repository).
    with log.open("wb") as output:
        server = subprocess.Popen([PARTNERLOOP, "serve", "--port", str(port)], env=env, stdout=output,
                                  stderr=subprocess.STDOUT, cwd=home)  # fmt: skip
    try:
        wait_for_port(port, server, log)
        headers = {"Authorization": f"Bearer {api_key}"}
        if variant.click_rule:
            rule: dict[str, Any] = {"event": "click", "reward": {"type": "flat", "amount": 1}}
            if args.click_cap is not None:
                rule["caps"] = {"per_day_count": args.click_cap}
            plan = httpx.post(
                f"{base}/api/v1/plans", headers=headers, json={"name": "Per click", "rules": [rule]}
            ).json()
            answer = httpx.patch(f"{base}/api/v1/program", headers=headers, json={"default_plan_id": plan["id"]})
            answer.raise_for_status()
        partner = httpx.post(f"{base}/api/v1/partners", json={"email": "bench@example.com", "name": "Bench"},
                             headers=headers).json()  # fmt: skip
        link = httpx.post(f"{base}/api/v1/links", headers=headers,
                          json={"partner_id": partner["id"], "key": LINK_KEY,
                                "destination_url": "https://shop.example/pricing?plan=pro"}).json()  # fmt: skip
        url = f"{base}/go/{LINK_KEY}"
        assert httpx.get(url).status_code == 302
    except BaseException:
        stop(server)
        raise
    return server, url, link["id"], database_url


def stored_clicks(database_url: str, link_id: str) -> tuple[int, int]:
    """The link's stored clicks, and the click commissions they earned."""
    from sqlalchemy import create_engine, text

    from partnerloop.config import Settings

    reader = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    with reader.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM clicks WHERE link_id = :link"), {"link": link_id})
        count = int(stored.scalar_one())
        earned = connection.execute(text("SELECT count(*) FROM commissions WHERE kind = 'click'")).scalar_one()
    reader.dispose()
    return count, int(earned)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main() -> None:
    global WRK_SCRIPT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each run")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="alternated raw ASGI / partnerloop runs")
    parser.add_argument("--click-writer", choices=("process", "inline"), default="process",
                        help="who writes the clicks: the writer process (what serve runs) or the server itself")  # fmt: skip
    parser.add_argument(
        "--database-url",
        help="serve partnerloop from this PostgreSQL database (dropped and "
        "created again; its name must contain bench or test) instead of a fresh SQLite file",
    )
    parser.add_argument("--click-rule", action="store_true", help="also serve a program whose plan pays each click")
    parser.add_argument("--click-cap", type=int, help="the click rule's clicks paid per partner and day "
                        "(default: the plan's default cap)")  # fmt: skip
    parser.add_argument("--baseline-ref", help="also serve the code of this git revision (before/after in one run)")
    parser.add_argument("--unique-visitors", action="store_true", help="every request another visitor")
    args = parser.parse_args()
    ensure_tools()
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}, click writer: {args.click_writer}, "
          f"{'a visitor per request' if args.unique_visitors else 'one visitor'}", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="pl-redirect-bench-") as tmp:
        workdir = Path(tmp)
        if args.unique_visitors:
            WRK_SCRIPT = workdir / "visitors.lua"
            WRK_SCRIPT.write_text(UNIQUE_VISITORS_LUA)
        variants = [Variant("partnerloop /go/")]
        if args.baseline_ref:
            variants.append(Variant(f"@{args.baseline_ref[:12]}", code=extract_revision(args.baseline_ref, workdir)))
        if args.click_rule:
            variants.append(Variant("+ click rule", click_rule=True))
        raw_server, raw_url = start_raw_asgi(workdir)
        servers = []
        try:
            for index, variant in enumerate(variants):
                servers.append(start_partnerloop(workdir, args, variant, index))
            answered = [1] * len(variants)  # start_partnerloop's check
            raws: list[Result] = []
            reals: list[list[Result]] = [[] for _ in variants]
            # Alternated, so that all see the same machine: its speed drifts from minute to minute.
            for _ in range(args.rounds):
                raws.append(measure("raw ASGI", raw_url, raw_server.pid, args)[0])
                for index, (variant, (server, url, _link, _db)) in enumerate(zip(variants, servers, strict=True)):
                    result, count = measure(variant.name, url, server.pid, args)
                    reals[index].append(result)
                    answered[index] += count
        finally:
            stop(raw_server)
            for server, *_rest in servers:
                stop(server)  # SIGTERM: the lifespan drains the click buffer
        stored = [stored_clicks(database_url, link_id) for _server, _url, link_id, database_url in servers]
        logs = [
            (workdir / f"variant-{index}" / "partnerloop.log").read_text()[-3000:] for index in range(len(variants))
        ]
        nginx = bench_nginx(workdir, args)

    print()
    print(f"{'server':<20} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'vs raw ASGI':>12} {'CPU µs/req':>11} "
          f"{'RSS MB':>8} {'machine busy':>13}")  # fmt: skip
    rows = [(nginx, raws[-1])] if nginx is not None else []
    for round_index, raw in enumerate(raws):
        rows += [(raw, raw)] + [(results[round_index], raw) for results in reals]
    for result, baseline in rows:
        ratio = result.requests_per_s / baseline.requests_per_s
        rss = f"{result.rss_mb:.0f}" if result.rss_mb else "-"
        print(f"{result.name:<20} {result.requests_per_s:>10,.0f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f} "
              f"{ratio:>11.0%} {result.cpu_us_per_request:>11.1f} {rss:>8} {result.busy_before:>12.0%}")  # fmt: skip
        if result.errors:
            print(f"{'':<20} wrk: {result.errors}")
    medians = []
    for variant, results in zip(variants, reals, strict=True):
        ratio = median([real.requests_per_s / raw.requests_per_s for raw, real in zip(raws, results, strict=True)])
        p99 = median([real.p99_ms for real in results])
        medians.append((ratio, p99))
        print(f"{'median ' + variant.name:<28} {median([real.requests_per_s for real in results]):>10,.0f} "
              f"{median([real.p50_ms for real in results]):>8.2f} {p99:>8.2f} {ratio:>11.0%} "
              f"{median([real.cpu_us_per_request for real in results]):>11.1f}")  # fmt: skip
    if len(variants) > 1:
        for variant, (ratio, p99) in zip(variants[1:], medians[1:], strict=True):
            print(f"{variant.name} against this checkout: {ratio / medians[0][0]:.0%} of its throughput "
                  f"(each as a share of raw ASGI in the same round), p99 {p99:.2f} ms against {medians[0][1]:.2f} ms")  # fmt: skip
    print()
    lost = False
    for variant, count, (clicks, earned), log in zip(variants, answered, stored, logs, strict=True):
        # wrk abandons the requests in flight at its deadline; the server may have answered (and recorded) them.
        in_flight = clicks - count
        clicks_ok = 0 <= in_flight <= 2 * args.rounds * args.connections
        lost = lost or not clicks_ok
        rewards = f", {earned:,} click commissions" if variant.click_rule else ""
        if not clicks_ok:
            print(f"{variant.name}'s server log ends:\n{log}")
        print(f"{variant.name}: {count:,} redirects answered to wrk (warm-ups and runs), {clicks:,} clicks stored "
              f"({in_flight:+d}: requests wrk abandoned in flight){rewards} -> {'OK' if clicks_ok else 'LOST'}")  # fmt: skip
    ratio, p99 = medians[0]
    print(f"target: >= 60% of raw ASGI and p99 < 10 ms (medians of {args.rounds} alternated rounds) -> "
          f"{ratio:.0%}, p99 {p99:.2f} ms: {'met' if ratio >= 0.6 and p99 < 10 else 'NOT met'}")  # fmt: skip
    if lost:
        sys.exit(1)


if __name__ == "__main__":
    main()
