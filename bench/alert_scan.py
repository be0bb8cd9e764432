"""What the every-minute alert scan (alert/service.scan_clicks) costs at 1,000 clicks/s, against a bare count
of the same clicks measured in the same run.

Builds one program with `--links` links over `--partners` partners, the rollups of the week before (what
the click-spike rule compares with), and `--rate` clicks a second over the last `--minutes` minutes (the
scan window's default is 10), a few links with a spike and one with most clicks from one network. Then,
alternately and `--repeat` times each, in a transaction rolled back after each run:

- baseline: `SELECT count(*) FROM clicks WHERE created_at >= now - window` (every clicked row read once);
- the scan: click spikes, IP concentration and bot share over every program's recent clicks.

The scan runs every minute, so its share of one core is its duration ÷ 60 s (the database's work included:
both run on this machine). The issue's target: under 5 %.

Run: python bench/alert_scan.py [--database-url postgresql://postgres@127.0.0.1:5432/pl_bench_alerts] [--reuse]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.common import recreate_postgres
from partnerloop import migrate
from partnerloop.alert.service import scan_clicks
from partnerloop.config import Settings
from partnerloop.db import make_engine
from partnerloop.program.service import create_program


def fill(engine: Engine, args: argparse.Namespace, now: datetime) -> None:
    """Partners, links, last week's rollups and the recent clicks, by generate_series on the server."""
    with Session(engine) as session, session.begin():
        created = create_program(session, name="Bench", domains=["bench.test"], currency="usd",
                                 owner_email="owner@bench.test", owner_password="correct horse battery")  # fmt: skip
        program_id = created.program.id
    clicks = args.rate * args.minutes * 60
    today = now.date()
    statements = [
        f"""INSERT INTO partners (id, workspace_id, email, name, created_at)
            SELECT 'pa' || lpad(i::text, 24, '0'), (SELECT workspace_id FROM programs WHERE id = '{program_id}'),
                   'partner' || i || '@bench.test', 'Partner ' || i, now()
            FROM generate_series(1, {args.partners}) i""",
        f"""INSERT INTO links (id, program_id, partner_id, key, destination_url, utm, created_at, updated_at)
            SELECT 'li' || lpad(i::text, 24, '0'), '{program_id}',
                   'pa' || lpad((1 + i % {args.partners})::text, 24, '0'), 'k' || i, 'https://bench.test/', '{{}}',
                   now(), now()
            FROM generate_series(1, {args.links}) i""",
        f"""INSERT INTO click_rollups (program_id, link_id, partner_id, day, clicks, bot_clicks, unique_clicks)
            SELECT '{program_id}', 'li' || lpad(l::text, 24, '0'), 'pa' || lpad((1 + l % {args.partners})::text, 24, '0'),
                   DATE '{today.isoformat()}' - d, {clicks * 144 // args.links}, 0, {clicks * 144 // args.links}
            FROM generate_series(1, 7) d, generate_series(1, {args.links}) l""",
        # Clicks spread over the window; links 1-5 get a spike (a tenth of all clicks), link 6 one network.
        f"""INSERT INTO clicks (id, program_id, link_id, partner_id, created_at, ip_truncated, user_agent, is_bot,
                                is_unique, visitor)
            SELECT '0c' || lpad(i::text, 24, '0'), '{program_id}', 'li' || lpad(link::text, 24, '0'),
                   'pa' || lpad((1 + link % {args.partners})::text, 24, '0'),
                   TIMESTAMPTZ '{now.isoformat()}' - ((i % ({args.minutes} * 60000)) || ' milliseconds')::interval,
                   CASE WHEN link = 6 THEN '203.0.113.0' ELSE '10.' || (i % 250) || '.' || (i % 199) || '.0' END,
                   'Mozilla/5.0 bench', i % 20 = 0, i % 3 = 0, md5(i::text)::varchar(32)
            FROM (SELECT i, CASE WHEN i % 10 = 0 THEN 1 + (i / 10) % 5 ELSE 1 + (i::bigint * 7919) % {args.links} END AS link
                  FROM generate_series(1, {clicks}) i) numbered""",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def timed(engine: Engine, work: Callable[[Session], object]) -> float:
    with Session(engine) as session:
        started = time.perf_counter()
        work(session)
        elapsed = (time.perf_counter() - started) * 1000
        session.rollback()  # the alerts raised are not kept: every run judges the same clicks
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/pl_bench_alerts")
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--links", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=1000, help="clicks a second")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="measure the data a previous run built")
    args = parser.parse_args()

    url = args.database_url
    if not args.reuse:
        recreate_postgres(url)
    engine = make_engine(Settings(database_url=url))
    if args.reuse:
        with engine.connect() as connection:
            now = connection.execute(text("SELECT max(created_at) FROM clicks")).scalar_one()
    else:
        migrate.upgrade(engine)
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        fill(engine, args, now)
        print(f"data made in {time.perf_counter() - started:.0f} s")
    since = now - timedelta(minutes=args.minutes)
    with engine.connect() as connection:
        recent = connection.execute(text("SELECT count(*) FROM clicks WHERE created_at >= :since"),
                                    {"since": since}).scalar_one()  # fmt: skip
    print(f"{recent:,} clicks in the last {args.minutes} min ({recent / (args.minutes * 60):,.0f}/s) on "
          f"{args.links:,} links; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    found: list[int] = []
    cases: dict[str, Callable[[Session], object]] = {
        "baseline: SELECT count(*) of the window's clicks": lambda s: s.execute(
            text("SELECT count(*) FROM clicks WHERE created_at >= :since"), {"since": since}).scalar(),
        "alert scan (scan_clicks)": lambda s: found.append(scan_clicks(s, now)),
    }  # fmt: skip
    for work in cases.values():
        timed(engine, work)  # warm caches and plans once
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, work in cases.items():
            results[name].append(timed(engine, work))
    baseline = statistics.median(results[next(iter(cases))])
    print(f"alerts raised per scan: {found[-1]}")
    print(f"{'case':<50} {'p50 ms':>9} {'max ms':>9} {'p50 / baseline':>15} {'share of a core':>16}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<50} {median:9.1f} {max(values):9.1f} {median / baseline:15.1f} {median / 60_000:16.2%}")
    engine.dispose()


if __name__ == "__main__":
    main()
