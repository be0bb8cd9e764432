"""Milliseconds per report (report/service.py) over a large program, against a bare count of the rollups.

Builds one program with `--partners` partners, `--links` links, daily click rollups for `--clicks` clicks
over `--days` days (what the click writer keeps for that many clicks: one row per link and day), and
`--conversions` leads and sales (with customers, ~4 % refunds and a commission each) spread over the same
days. Then, alternately and `--repeat` times each, it times in one read transaction:

- baseline: `SELECT count(*) FROM click_rollups` (every rollup row read once);
- `SELECT count(*) FROM click_day_rollups` and `conversion_rollups`: the rows reports sum;
- the partners report over the last 90 days (`partners_report`);
- a 2-year time series of revenue by day and of the conversion rate by week, each with its previous
  period (`timeseries_report`, which reads twice the window);
- the channels report by link over 90 days.

PostgreSQL data is made by the server (generate_series); SQLite data from Python. Prints p50 / p95 and
the ratio of each p50 to the baseline's.

Run: python bench/reports.py [--database-url postgresql://postgres@127.0.0.1:5432/pl_bench_reports]
     python bench/reports.py --database-url sqlite:////tmp/pl_bench_reports.db --clicks 1000000 --links 200 \
         --conversions 20000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from bench.common import recreate_postgres
from partnerloop import migrate
from partnerloop.config import Settings
from partnerloop.db import make_engine
from partnerloop.models import Program
from partnerloop.program.service import create_program
from partnerloop.report import clicks
from partnerloop.report import service as report_service
from partnerloop.report.conversions import ROLLUP, refresh
from partnerloop.report.rules import Window

NOW = datetime.now(UTC).replace(microsecond=0)


def _id(prefix: str, number: int) -> str:
    return f"{prefix}{number:0{26 - len(prefix)}d}"


def build_program(engine: Engine) -> str:
    with Session(engine) as session, session.begin():
        created = create_program(session, name="Bench", domains=["bench.test"], currency="usd",
                                 owner_email="owner@bench.test", owner_password="correct horse battery")  # fmt: skip
        return str(created.program.id)


def fill_postgres(engine: Engine, program_id: str, args: argparse.Namespace) -> None:
    """Everything by generate_series on the server: seconds for millions of rows."""
    per_cell = max(1, round(args.clicks / (args.links * args.days)))
    first_day = (NOW - timedelta(days=args.days)).date()
    customers = int(args.conversions * 0.55)
    sales = args.conversions - customers
    statements = [
        f"""INSERT INTO partners (id, workspace_id, email, name, created_at)
            SELECT 'pa' || lpad(i::text, 24, '0'), (SELECT workspace_id FROM programs WHERE id = '{program_id}'),
                   'partner' || i || '@bench.test', 'Partner ' || i, now()
            FROM generate_series(1, {args.partners}) i""",
        f"""INSERT INTO enrollments (id, program_id, partner_id, kind, status, referral_code, created_at)
            SELECT 'en' || lpad(i::text, 24, '0'), '{program_id}', 'pa' || lpad(i::text, 24, '0'), 'partner',
                   'approved', 'code' || i, now()
            FROM generate_series(1, {args.partners}) i""",
        f"""INSERT INTO links (id, program_id, partner_id, key, destination_url, utm, created_at, updated_at)
            SELECT 'li' || lpad(i::text, 24, '0'), '{program_id}',
                   'pa' || lpad((1 + i % {args.partners})::text, 24, '0'), 'k' || i, 'https://bench.test/',
                   json_build_object('utm_source', 'src' || (i % 7)), now(), now()
            FROM generate_series(1, {args.links}) i""",
        f"""INSERT INTO click_rollups (program_id, link_id, partner_id, day, clicks, bot_clicks, unique_clicks)
            SELECT '{program_id}', 'li' || lpad(l::text, 24, '0'), 'pa' || lpad((1 + l % {args.partners})::text, 24, '0'),
                   DATE '{first_day.isoformat()}' + d, {per_cell}, {per_cell} / 7, ({per_cell} * 3) / 4
            FROM generate_series(0, {args.days - 1}) d, generate_series(1, {args.links}) l  -- day by day, as the writer adds them
        """,
        f"""INSERT INTO customers (id, program_id, external_id, partner_id, metadata, created_at)
            SELECT 'cu' || lpad(i::text, 24, '0'), '{program_id}', 'cus_' || i,
                   'pa' || lpad((1 + i % {args.partners})::text, 24, '0'), '{{}}', now()
            FROM generate_series(1, {customers}) i""",
        f"""INSERT INTO events (id, program_id, kind, business_key, customer_id, name, partner_id, occurred_at, created_at)
            SELECT '00l' || lpad(i::text, 23, '0'), '{program_id}', 'lead', 'cu' || i || '-sign_up',
                   'cu' || lpad(i::text, 24, '0'), 'sign_up', 'pa' || lpad((1 + i % {args.partners})::text, 24, '0'),
                   TIMESTAMPTZ '{NOW.isoformat()}' - (((i::bigint * 7919) % ({args.days} * 1440)) || ' minutes')::interval, now()
            FROM generate_series(1, {customers}) i""",
        f"""INSERT INTO events (id, program_id, kind, business_key, customer_id, amount, currency, program_amount,
                                partner_id, invoice_id, occurred_at, created_at)
            SELECT '00s' || lpad(i::text, 23, '0'), '{program_id}', 'sale', 'in_' || i,
                   'cu' || lpad((1 + i % {customers})::text, 24, '0'), 1000 + (i % 90) * 100, 'usd',
                   1000 + (i % 90) * 100, 'pa' || lpad((1 + (1 + i % {customers}) % {args.partners})::text, 24, '0'),
                   'in_' || i,
                   TIMESTAMPTZ '{NOW.isoformat()}' - (((i::bigint * 104729) % ({args.days} * 1440)) || ' minutes')::interval,
                   now()
            FROM generate_series(1, {sales}) i""",
        f"""INSERT INTO events (id, program_id, kind, business_key, customer_id, amount, currency, program_amount,
                                partner_id, sale_event_id, occurred_at, created_at)
            SELECT '00r' || substr(id, 4), program_id, 'refund', 'refund:' || id, customer_id, amount / 2, 'usd',
                   amount / 2, partner_id, id, occurred_at + interval '3 days', now()
            FROM events WHERE program_id = '{program_id}' AND kind = 'sale' AND right(id, 2)::int < 4""",
        f"""INSERT INTO commissions (id, program_id, partner_id, customer_id, event_id, kind, reverses_id, amount,
                                     currency, earnings_amount, earnings_currency, status, explanation, occurred_at,
                                     hold_until, created_at)
            SELECT '00c' || substr(id, 3, 1) || substr(id, 5), program_id, partner_id, customer_id, id, kind, '', coalesce(amount, 0),
                   'usd', CASE WHEN kind = 'lead' THEN 500 WHEN kind = 'sale' THEN amount / 5 ELSE -amount / 5 END,
                   'usd', 'approved', 'bench', occurred_at, occurred_at, now()
            FROM events WHERE program_id = '{program_id}'""",
    ]
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does to a table this size by itself


def fill_sqlite(engine: Engine, program_id: str, args: argparse.Namespace) -> None:
    """The same shape from Python, in batches."""
    rng = random.Random(7)
    per_cell = max(1, round(args.clicks / (args.links * args.days)))
    first_day = (NOW - timedelta(days=args.days)).date()
    customers = int(args.conversions * 0.55)
    sales = args.conversions - customers
    naive_now = NOW.replace(tzinfo=None)

    def partner(number: int) -> str:
        return _id("pa", 1 + number % args.partners)

    with engine.begin() as connection:
        workspace = connection.execute(
            text("SELECT workspace_id FROM programs WHERE id = :id"), {"id": program_id}
        ).scalar()
        connection.execute(text("INSERT INTO partners (id, workspace_id, email, name, created_at) VALUES "
                                "(:id, :w, :e, :n, :t)"),
                           [{"id": _id("pa", i), "w": workspace, "e": f"p{i}@bench.test", "n": f"Partner {i}",
                             "t": naive_now} for i in range(1, args.partners + 1)])  # fmt: skip
        connection.execute(text("INSERT INTO enrollments (id, program_id, partner_id, kind, status, referral_code, "
                                "created_at) VALUES (:id, :p, :pa, 'partner', 'approved', :c, :t)"),
                           [{"id": _id("en", i), "p": program_id, "pa": _id("pa", i), "c": f"code{i}", "t": naive_now}
                            for i in range(1, args.partners + 1)])  # fmt: skip
        connection.execute(text("INSERT INTO links (id, program_id, partner_id, key, destination_url, utm, created_at, "
                                "updated_at) VALUES (:id, :p, :pa, :k, 'https://bench.test/', :u, :t, :t)"),
                           [{"id": _id("li", i), "p": program_id, "pa": partner(i), "k": f"k{i}",
                             "u": f'{{"utm_source": "src{i % 7}"}}', "t": naive_now}
                            for i in range(1, args.links + 1)])  # fmt: skip
        rows = [{"p": program_id, "l": _id("li", link), "pa": partner(link), "d": first_day + timedelta(days=day),
                 "c": per_cell, "b": per_cell // 7, "u": per_cell * 3 // 4}
                for link in range(1, args.links + 1) for day in range(args.days)]  # fmt: skip
        connection.execute(text("INSERT INTO click_rollups (program_id, link_id, partner_id, day, clicks, bot_clicks, "
                                "unique_clicks) VALUES (:p, :l, :pa, :d, :c, :b, :u)"), rows)  # fmt: skip
        connection.execute(text("INSERT INTO customers (id, program_id, external_id, partner_id, metadata, created_at) "
                                "VALUES (:id, :p, :e, :pa, '{}', :t)"),
                           [{"id": _id("cu", i), "p": program_id, "e": f"cus_{i}", "pa": partner(i), "t": naive_now}
                            for i in range(1, customers + 1)])  # fmt: skip
        events: list[dict[str, Any]] = []
        for i in range(1, customers + 1):
            at = naive_now - timedelta(minutes=rng.randrange(args.days * 1440))
            events.append({"id": _id("00l", i), "k": "lead", "b": f"cu{i}:sign_up", "c": _id("cu", i), "a": None,
                           "pa": partner(i), "s": None, "o": at})  # fmt: skip
        for i in range(1, sales + 1):
            customer = 1 + i % customers
            at = naive_now - timedelta(minutes=rng.randrange(args.days * 1440))
            amount = 1000 + (i % 90) * 100
            events.append({"id": _id("00s", i), "k": "sale", "b": f"in_{i}", "c": _id("cu", customer), "a": amount,
                           "pa": partner(customer), "s": None, "o": at})  # fmt: skip
            if i % 25 == 0:
                events.append({"id": _id("00r", i), "k": "refund", "b": f"refund:{i}", "c": _id("cu", customer),
                               "a": amount // 2, "pa": partner(customer), "s": _id("00s", i),
                               "o": at + timedelta(days=3)})  # fmt: skip
        connection.execute(text("INSERT INTO events (id, program_id, kind, business_key, customer_id, amount, currency, "
                                "program_amount, partner_id, sale_event_id, occurred_at, created_at) VALUES "
                                "(:id, :p, :k, :b, :c, :a, 'usd', :a, :pa, :s, :o, :t)"),
                           [{**event, "p": program_id, "t": naive_now} for event in events])  # fmt: skip
        connection.execute(text("INSERT INTO commissions (id, program_id, partner_id, customer_id, event_id, kind, "
                                "reverses_id, amount, currency, earnings_amount, earnings_currency, status, explanation, "
                                "occurred_at, hold_until, created_at) VALUES (:id, :p, :pa, :c, :e, :k, '', :a, 'usd', "
                                ":x, 'usd', 'approved', 'bench', :o, :o, :t)"),
                           [{"id": "00c" + event["id"][2] + event["id"][4:], "p": program_id, "pa": event["pa"], "c": event["c"],
                             "e": event["id"], "k": event["k"], "a": event["a"] or 0,
                             "x": 500 if event["k"] == "lead" else (event["a"] // 5) * (1 if event["k"] == "sale" else -1),
                             "o": event["o"], "t": naive_now} for event in events])  # fmt: skip
        connection.execute(text("ANALYZE"))


def build_rollups(engine: Engine) -> None:
    """What the rollup job builds from scratch the first time it runs on this data (a new database, or one
    a migration asked to rebuild), then ANALYZE as autovacuum would."""
    with engine.connect() as connection:
        built = set(connection.execute(text("SELECT name FROM rollup_state")).scalars())
    if ROLLUP not in built:
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            days = refresh(session, NOW)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM conversion_rollups")).scalar_one()
        print(
            f"conversion rollups built from scratch in {time.perf_counter() - started:.1f} s: {days} days, {rows:,} rows"
        )
    if clicks.ROLLUP not in built:
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            rows = clicks.refresh(session, NOW)
        print(f"clicks per day and partner built from scratch in {time.perf_counter() - started:.1f} s: {rows:,} rows")
    if {ROLLUP, clicks.ROLLUP} - built and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE click_day_rollups"))
            connection.execute(text("ANALYZE conversion_rollups"))


def timed(engine: Engine, work: Callable[[Session], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        with Session(engine) as session:
            started = time.perf_counter()
            work(session)
            times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/pl_bench_reports")
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--links", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--clicks", type=int, default=10_000_000)
    parser.add_argument("--conversions", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="measure the data a previous run built")
    args = parser.parse_args()

    url = args.database_url
    engine = make_engine(Settings(database_url=url))
    if args.reuse:
        migrate.upgrade(engine)  # a database built by an older revision gets the newer rollup tables
        with engine.connect() as connection:
            program_id = str(connection.execute(text("SELECT id FROM programs WHERE name = 'Bench'")).scalar_one())
        build_rollups(engine)
    else:
        engine.dispose()
        if url.startswith("postgres"):
            recreate_postgres(url)
        else:
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        engine = make_engine(Settings(database_url=url))
        migrate.upgrade(engine)
        program_id = build_program(engine)
        started = time.perf_counter()
        (fill_postgres if url.startswith("postgres") else fill_sqlite)(engine, program_id, args)
        print(f"data made in {time.perf_counter() - started:.0f} s")
        build_rollups(engine)
    with engine.connect() as connection:
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                  for table in ("click_rollups", "events", "commissions", "customers")}  # fmt: skip
        click_total = connection.execute(text("SELECT sum(clicks) FROM click_rollups")).scalar_one()
    started_rollups = time.perf_counter()
    with Session(engine) as session, session.begin():
        days = refresh(session, datetime.now(UTC))
        conversions_ms = (time.perf_counter() - started_rollups) * 1000
        rows = clicks.refresh(session, datetime.now(UTC))
    print(f"the every-minute rollup job with nothing new: {(time.perf_counter() - started_rollups) * 1000:.0f} ms "
          f"(conversions {conversions_ms:.0f} ms, {days} days rebuilt; clicks per day and partner: {rows:,} rows "
          "of today and yesterday rebuilt)")  # fmt: skip
    print(f"{click_total:,} clicks in {counts['click_rollups']:,} rollup rows, "
          f"{counts['events']:,} events, {counts['commissions']:,} commissions, {counts['customers']:,} customers; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip

    def program(session: Session) -> Program:
        found = session.get(Program, program_id)
        assert found is not None
        return found

    ninety = Window(NOW - timedelta(days=90), NOW)
    two_years = Window(NOW - timedelta(days=args.days), NOW)
    cases: dict[str, Callable[[Session], object]] = {
        "baseline: SELECT count(*) FROM click_rollups": lambda s: s.execute(text("SELECT count(*) FROM click_rollups")).scalar(),
        "SELECT count(*) FROM click_day_rollups": lambda s: s.execute(text("SELECT count(*) FROM click_day_rollups")).scalar(),
        "SELECT count(*) FROM conversion_rollups": lambda s: s.execute(text("SELECT count(*) FROM conversion_rollups")).scalar(),
        "partners report, 90 days": lambda s: report_service.partners_report(s, program(s), ninety),
        f"time series revenue by day, {args.days} days + previous": lambda s: report_service.timeseries_report(
            s, program(s), two_years, "revenue", "day"),
        f"time series conversion rate by week, {args.days} days + previous": lambda s: report_service.timeseries_report(
            s, program(s), two_years, "conversion_rate", "week"),
        "channels by link, 90 days": lambda s: report_service.channels_report(s, program(s), ninety, "link"),
    }  # fmt: skip
    for work in cases.values():  # warm caches and plans once
        timed(engine, work, 1)
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):  # alternately, so a busy moment hits every case alike
        for name, work in cases.items():
            results[name] += timed(engine, work, 1)
    baseline = statistics.median(results[next(iter(cases))])
    print(f"{'case':<62} {'p50 ms':>9} {'p95 ms':>9} {'p50 / baseline':>15}")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"{name:<62} {median:9.1f} {p95(values):9.1f} {median / baseline:15.1f}")
    engine.dispose()


if __name__ == "__main__":
    main()
