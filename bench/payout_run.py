"""A payout run over 10,000 partners and 1,000,000 approved commissions on PostgreSQL: time and memory.

Seeds (untimed) a fresh database straight through COPY: one program, PARTNERS partners enrolled with
a PayPal payout method, COMMISSIONS approved commissions past their hold spread over them (one in
twenty a negative reversal, and some partners under the minimum payout). Then a separate process,
so that its peak RSS is the run's alone, measures:

- baseline: the aggregate a run cannot do without (sum of approved earnings per partner, one pass
  over the commissions), raw SQL, after the imports and the first connection;
- preview: `preview_run` (writes nothing);
- confirm: `confirm_run` and the commit: payouts, payout items, commission statuses, ledger postings.

It prints seconds and peak RSS (resource.getrusage) for each, with the ratio to the baseline, and
checks the outcome (every payable commission in exactly one payout, the sums match).

Run: python bench/payout_run.py [--partners 10000] [--commissions 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from common import recreate_postgres

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/pl_bench_i"
COPY_ROWS = 100_000  # rows per COPY chunk, so the seeding process stays small too


def machine_busy() -> str:
    load1, _load5, _load15 = os.getloadavg()
    return f"load average {load1:.2f} on {os.cpu_count()} CPUs"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def seed(url: str, partners: int, commissions: int) -> str:
    """Migrate, make the program, COPY the partners, methods and commissions; the program id."""
    from partnerloop import migrate
    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.kit.ids import new_id
    from partnerloop.payout.secrets import encrypt_json
    from partnerloop.program.service import create_program

    settings = Settings(database_url=url, environment="development")
    engine = get_engine(settings)
    migrate.upgrade(engine)
    with transaction(engine) as session:
        created = create_program(
            session, name="Bench", domains=["bench.test"], owner_email="owner@bench.test", owner_password=None
        )
        program_id, workspace_id = created.program.id, created.program.workspace_id
    engine.dispose()

    now = datetime.now(UTC)
    random.seed(7)
    partner_ids = [new_id() for _ in range(partners)]
    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor:
            with cursor.copy("COPY partners (id, workspace_id, email, name, created_at) FROM STDIN") as copy:
                for n, partner_id in enumerate(partner_ids):
                    copy.write_row((partner_id, workspace_id, f"p{n}@bench.test", f"Partner {n}", now))
            with cursor.copy(
                "COPY enrollments (id, program_id, partner_id, kind, status, referral_code, created_at) FROM STDIN"
            ) as copy:
                for n, partner_id in enumerate(partner_ids):
                    copy.write_row((new_id(), program_id, partner_id, "partner", "approved", f"ref{n}", now))
            with cursor.copy(
                "COPY payout_methods (id, program_id, partner_id, type, currency, details_encrypted, details_masked,"
                " created_at, updated_at) FROM STDIN"
            ) as copy:
                for n, partner_id in enumerate(partner_ids):
                    details = encrypt_json(settings, {"email": f"pay{n}@bench.test"})
                    masked = json.dumps({"email": f"p•••@bench.test{n}"})
                    copy.write_row((new_id(), program_id, partner_id, "paypal", "usd", details, masked, now, now))
        connection.commit()
        hold_until = now - timedelta(days=1)
        made = 0
        while made < commissions:
            chunk = min(COPY_ROWS, commissions - made)
            buffer = io.StringIO()
            postings = io.StringIO()  # what creating each approved commission posts (ledger/rules.py)
            for n in range(made, made + chunk):
                # the last 2% of partners earn little: under the minimum, skipped by the run
                partner_id = partner_ids[n % partners]
                small = n % partners >= partners * 98 // 100
                earnings = -300 if n % 20 == 19 else (random.randint(1, 9) if small else random.randint(100, 3000))
                kind = "reversal" if earnings < 0 else "sale"
                commission_id, posted = new_id(), new_id()
                buffer.write(
                    f"{commission_id}\t{program_id}\t{partner_id}\t{kind}\t\t{earnings * 5}\tusd\t{earnings}\tusd\t"
                    f"approved\tbench commission\t{hold_until.isoformat()}\t{now.isoformat()}\n"
                )
                # A run prices each commission by its postings on the approved account: without them
                # every commission is worth 0 and nobody is due (the bench seeded none before the ledger).
                for account, amount in (("partner_approved", earnings), ("commission_expense", -earnings)):
                    postings.write(
                        f"{new_id()}\t{program_id}\t{partner_id}\tusd\t{account}\t{amount}\tearned\t"
                        f"{commission_id}\t{posted}\tbench commission\tbench\t{now.isoformat()}\n"
                    )
            _copy(
                connection,
                "COPY commissions (id, program_id, partner_id, kind, reverses_id, amount, currency,"
                " earnings_amount, earnings_currency, status, explanation, hold_until, created_at) FROM STDIN",
                buffer.getvalue(),
            )
            _copy(
                connection,
                "COPY ledger_entries (id, program_id, partner_id, currency, account, amount, kind,"
                " commission_id, transaction_id, memo, actor, created_at) FROM STDIN",
                postings.getvalue(),
            )
            connection.commit()
            made += chunk
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
    return program_id


def _copy(connection: psycopg.Connection, statement: str, rows: str) -> None:
    """COPY tab-separated `rows` with `statement`."""
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(rows)


def measure(url: str, program_id: str) -> None:
    """In a fresh process: baseline, preview and confirm, each timed, with the peak RSS after each."""
    figures: dict[str, float] = {}
    start = time.perf_counter()
    from sqlalchemy import text

    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.models import Program
    from partnerloop.payout.service.run import confirm_run, preview_run

    engine = get_engine(Settings(database_url=url, environment="development"))
    figures["imports_s"] = time.perf_counter() - start
    start = time.perf_counter()
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT partner_id, sum(earnings_amount), count(*) FROM commissions "
                "WHERE program_id = :program AND status = 'approved' AND hold_until <= now() GROUP BY partner_id"
            ),
            {"program": program_id},
        ).all()
    figures["baseline_s"] = time.perf_counter() - start
    figures["baseline_rss_mb"] = peak_rss_mb()
    figures["partners_with_earnings"] = len(rows)

    start = time.perf_counter()
    with transaction(engine, writes=False) as session:
        program = session.get(Program, program_id)
        assert program is not None
        preview = preview_run(session, program)
    figures["preview_s"] = time.perf_counter() - start
    figures["preview_rss_mb"] = peak_rss_mb()
    figures["preview_payouts"] = len(preview.payouts)
    figures["preview_skipped"] = len(preview.skipped)
    del preview

    start = time.perf_counter()
    with transaction(engine) as session:
        program = session.get(Program, program_id)
        assert program is not None
        run = confirm_run(session, program, run_key="bench:1")
        run_id = run.id
    figures["confirm_s"] = time.perf_counter() - start
    figures["confirm_rss_mb"] = peak_rss_mb()

    with engine.connect() as connection:
        check = connection.execute(
            text(
                "SELECT (SELECT count(*) FROM payouts WHERE run_id = :run),"
                " (SELECT count(*) FROM payout_items i JOIN payouts p ON p.id = i.payout_id WHERE p.run_id = :run),"
                " (SELECT count(*) FROM commissions WHERE status = 'paid'),"
                " (SELECT coalesce(sum(source_amount), 0) FROM payouts WHERE run_id = :run),"
                " (SELECT coalesce(sum(i.amount), 0) FROM payout_items i JOIN payouts p ON p.id = i.payout_id"
                "  WHERE p.run_id = :run),"
                " (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE payout_id IS NOT NULL"
                "  AND account = 'partner_paid')"
            ),
            {"run": run_id},
        ).one()
    for name, value in zip(
        ("payouts", "items", "paid_commissions", "paid_total", "items_total", "ledger_paid_total"), check, strict=True
    ):
        figures[name] = int(value)
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--commissions", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--measure", metavar="PROGRAM_ID", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.database_url, args.measure)
        return

    print(f"seeding {args.partners:,} partners and {args.commissions:,} approved commissions ({machine_busy()})")
    start = time.perf_counter()
    recreate_postgres(args.database_url)
    program_id = seed(args.database_url, args.partners, args.commissions)
    print(f"seeded in {time.perf_counter() - start:.1f} s")

    print(f"measuring ({machine_busy()})")
    done = subprocess.run(
        [sys.executable, __file__, "--database-url", args.database_url, "--measure", program_id],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the run failed:\n{done.stderr[-5000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    baseline_s, baseline_mb = figures["baseline_s"], figures["baseline_rss_mb"]
    print(f"after: {machine_busy()}")
    print(f"{'step':<10} {'seconds':>8} {'x baseline':>11} {'peak RSS MB':>12} {'x baseline':>11}")
    for step in ("baseline", "preview", "confirm"):
        seconds, rss = figures[f"{step}_s"], figures[f"{step}_rss_mb"]
        print(f"{step:<10} {seconds:>8.2f} {seconds / baseline_s:>11.1f} {rss:>12.0f} {rss / baseline_mb:>11.2f}")
    total = figures["preview_s"] + figures["confirm_s"]
    print(f"preview + confirm: {total:.1f} s ({'under' if total < 60 else 'OVER'} 60 s)")
    print(
        f"payouts {figures['payouts']:,} (skipped {figures['preview_skipped']:,}), items {figures['items']:,}, "
        f"commissions paid {figures['paid_commissions']:,}"
    )
    assert figures["payouts"] == figures["preview_payouts"], figures
    assert figures["items"] == figures["paid_commissions"], figures
    assert figures["paid_total"] == figures["items_total"] == figures["ledger_paid_total"], figures


if __name__ == "__main__":
    main()
