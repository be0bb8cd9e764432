"""Benchmark: how fast the portal's pages answer on the demo program, against /healthz in the same run.

    python bench/pages.py [--requests 60] [--database-url postgresql://postgres@127.0.0.1:5432/pl_bench_d2]
        [--partners 10000 --commissions 1000000]   (PostgreSQL only: bulk data added to the demo program)

Seeds the demo program (90 days of clicks and conversions, `partnerloop.demo.seed_demo`) into a fresh
database (a temporary SQLite file unless --database-url names a PostgreSQL database, which is dropped,
recreated and ANALYZEd after the load, as autovacuum would), starts a real `partnerloop serve` on a free port, logs in as the demo owner and as a demo
partner, then requests each main page `--requests` times one after the other (after a warm-up) and prints
p50 and p95 per page, with the ratio of each p95 to the p95 of /healthz (a request that reaches the
database and renders nothing). The target is a p95 under 200 ms for every page; the exit status is 1
when a page misses it.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bulk
import httpx
from common import free_port, recreate_postgres
from sqlalchemy import select, text

TARGET_P95_MS = 200.0
WARM_UP = 5
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Timing:
    page: str
    who: str
    p50_ms: float
    p95_ms: float
    bytes: int


def seed(database_url: str, partners: int = 0, commissions: int = 0) -> tuple[str, str]:
    """Migrate and seed the demo (plus `partners` partners and `commissions` sales with their commissions, by
    COPY, on PostgreSQL); returns (program id, id of a link of the demo partner)."""
    os.environ["DATABASE_URL"] = database_url
    from partnerloop import migrate
    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.demo import seed_demo

    settings = Settings(database_url=database_url)
    engine = get_engine(settings)
    migrate.upgrade(engine)
    started = time.perf_counter()
    logins = seed_demo(engine, settings)
    print(f"seeded the demo program in {time.perf_counter() - started:.1f} s", flush=True)
    if partners or commissions:
        from partnerloop.models import Program

        with transaction(engine, writes=False) as session:
            workspace_id = session.get_one(Program, logins.program_id).workspace_id
        started = time.perf_counter()
        bulk.load(database_url, logins.program_id, workspace_id, partners, commissions)
        print(f"added {partners} partners and {commissions} sales with commissions in "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        # What the every-minute rollup job does with the loaded days before the server's own run (it would
        # otherwise take the first minute of measuring): the reports and the dashboard read the rollups.
        from partnerloop.report.tasks import refresh_rollups

        started = time.perf_counter()
        with transaction(engine) as session:
            refresh_rollups(session, {})
        print(f"built the rollups of the loaded days in {time.perf_counter() - started:.1f} s", flush=True)
    if engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load: without statistics the planner guesses 1 row.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return logins.program_id, _demo_link(engine)


def _demo_link(engine: Any) -> str:
    from partnerloop.db import transaction
    from partnerloop.demo import DEMO_PARTNER_EMAIL
    from partnerloop.models import Link, Partner

    with transaction(engine, writes=False) as session:
        link_id = session.execute(
            select(Link.id)
            .join(Partner, Partner.id == Link.partner_id)
            .where(Partner.email == DEMO_PARTNER_EMAIL)
            .order_by(Link.id)
            .limit(1)
        ).scalar_one()
    engine.dispose()
    return str(link_id)


def reused(database_url: str) -> tuple[str, str]:
    """(program id, demo link id) of a database seeded by an earlier run (--reuse). The pages measured show
    masked payout details only, so any ENCRYPTION_KEY lets the server start."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("ENCRYPTION_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.demo import DEMO_PARTNER_EMAIL
    from partnerloop.models import Enrollment, Partner

    engine = get_engine(Settings(database_url=database_url))
    with transaction(engine, writes=False) as session:
        program_id = session.execute(
            select(Enrollment.program_id).join(Partner, Partner.id == Enrollment.partner_id)
            .where(Partner.email == DEMO_PARTNER_EMAIL)
        ).scalar_one()  # fmt: skip
    return str(program_id), _demo_link(engine)


def log_in(client: httpx.Client, email: str, password: str) -> None:
    token = _CSRF.search(client.get("/login").text)
    assert token, "no CSRF token on /login"
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert response.status_code == 303, f"login of {email} failed: {response.status_code}"


def measure(client: httpx.Client, who: str, page: str, requests: int) -> Timing:
    sizes = 0
    for _ in range(WARM_UP):
        client.get(page)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(page)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, f"{page} answered {response.status_code}"
        sizes = len(response.content)
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    return Timing(page, who, statistics.median(samples), p95, sizes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--partners", type=int, default=0, help="bulk partners added to the demo (PostgreSQL)")
    parser.add_argument("--commissions", type=int, default=0, help="bulk sales and commissions (PostgreSQL)")
    parser.add_argument("--reuse", action="store_true", help="measure the database of an earlier run again")
    parser.add_argument("--pages", default="", help="only the pages whose path contains one of these (comma-separated)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="partnerloop-bench-pages-"))
    database_url = args.database_url or f"sqlite:///{folder / 'demo.db'}"
    if args.reuse:
        if not args.database_url:
            sys.exit("--reuse needs the --database-url of an earlier run")
        program_id, link_id = reused(database_url)
    else:
        if database_url.startswith("postgres"):
            recreate_postgres(database_url)
        if (args.partners or args.commissions) and not database_url.startswith("postgres"):
            sys.exit("--partners and --commissions need --database-url of a PostgreSQL database")
        program_id, link_id = seed(database_url, args.partners, args.commissions)
    from partnerloop.demo import DEMO_PARTNER_EMAIL, OWNER_EMAIL, OWNER_PASSWORD, PARTNER_PASSWORD

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "BASE_URL": base_url, "ENVIRONMENT": "development"}
    log = folder / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "partnerloop.cli", "serve", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                print(log.read_text(), file=sys.stderr)
                return 2
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        owner = httpx.Client(base_url=base_url, timeout=30)
        partner = httpx.Client(base_url=base_url, timeout=30)
        anonymous = httpx.Client(base_url=base_url, timeout=30)
        log_in(owner, OWNER_EMAIL, OWNER_PASSWORD)
        log_in(partner, DEMO_PARTNER_EMAIL, PARTNER_PASSWORD)
        plan = [
            (anonymous, "anyone", "/healthz"),
            (anonymous, "anyone", f"/apply/{program_id}"),
            (partner, "partner", "/partner"),
            (partner, "partner", "/partner?days=90"),
            (partner, "partner", "/partner/welcome"),
            (partner, "partner", "/partner/links"),
            (partner, "partner", f"/partner/links/{link_id}"),
            (partner, "partner", f"/partner/links/{link_id}/qr.svg"),
            (partner, "partner", "/partner/commissions"),
            (partner, "partner", "/partner/resources"),
            (owner, "manager", "/manage"),
            (owner, "manager", "/manage/partners"),
            (owner, "manager", "/manage/partners?sort=revenue"),
            (owner, "manager", "/manage/commissions"),
            (owner, "manager", "/manage/payouts"),
            (owner, "manager", "/manage/links"),
            (owner, "manager", "/manage/reports"),
            (owner, "manager", "/manage/goals"),
            (owner, "manager", "/manage/alerts"),
            (owner, "manager", "/manage/leaderboard"),
            (owner, "manager", "/manage/tiers"),
            (owner, "manager", "/manage/resources"),
            (owner, "manager", "/manage/onboarding"),
            (owner, "manager", "/manage/application"),
        ]
        if args.pages:
            wanted = args.pages.split(",")
            plan = [entry for entry in plan if entry[2] == "/healthz" or any(part in entry[2] for part in wanted)]
        load = os.getloadavg()[0]  # the machine is shared: say how busy it was
        timings = [measure(client, who, page, args.requests) for client, who, page in plan]
    finally:
        server.terminate()
        server.wait(timeout=30)

    baseline = timings[0].p95_ms
    backend = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(
        f"\n{args.requests} sequential requests per page after {WARM_UP} warm-up ones; demo program on {backend}"
        f"{f' with {args.partners} more partners and {args.commissions} more commissions' if args.partners else ''}; "
        f"load average {load:.1f} before measuring"
    )
    print(f"{'page':<46} {'who':<8} {'p50 ms':>8} {'p95 ms':>8} {'p95 / healthz':>14} {'KiB':>6}")
    for timing in timings:
        ratio = timing.p95_ms / baseline if baseline else float("nan")
        print(
            f"{timing.page[:46]:<46} {timing.who:<8} {timing.p50_ms:8.1f} {timing.p95_ms:8.1f} {ratio:14.1f} "
            f"{timing.bytes / 1024:6.1f}"
        )
    slow = [timing for timing in timings if timing.p95_ms >= TARGET_P95_MS]
    if slow:
        print(f"\nOVER the {TARGET_P95_MS:.0f} ms p95 target: {', '.join(t.page for t in slow)}")
        return 1
    print(f"\nevery page under the {TARGET_P95_MS:.0f} ms p95 target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
