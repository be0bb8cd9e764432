"""The plan simulator over a year of history: 100,000 sales on SQLite and on PostgreSQL.

For each database: a fresh database with one program, 200 partners in three groups, 20,000 customers
(country, metadata), a lead per customer, SALES sales spread over 2025 with their recorded commissions,
and 3% of sales refunded with their reversals (bulk-inserted, untimed). Then, each in a fresh process
so that its peak RSS is its own:

- baseline: stream the same window's events with the simulator's own query and do nothing with them;
- simulate: `plan.simulation.simulate` of a 20-rule plan with tiers, caps and bonuses over the whole
  year, and over its first half (same memory if it is bounded by partners and customers, not events).

Prints seconds, the ratio to the baseline, and peak RSS.

Run: python bench/simulate.py [--sales 100000] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from commission_engine import BONUSES, twenty_rules
from common import recreate_postgres
from sqlalchemy import insert

from partnerloop import migrate
from partnerloop.config import Settings
from partnerloop.db import make_engine, transaction
from partnerloop.kit.ids import new_id
from partnerloop.models import Commission, Customer, Enrollment, Event, Group, Partner, Plan, Program
from partnerloop.program.service import create_program

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/pl_bench_f"
PARTNERS = 200
CUSTOMERS = 20_000
YEAR = datetime(2025, 1, 1, tzinfo=UTC)
BATCH = 5_000
PRODUCTS = ["starter", "team", "business", "enterprise"]
PRICES = {"starter": 2_900, "team": 4_900, "business": 9_900, "enterprise": 49_900}
COUNTRIES = ["us", "de", "fr", "gb", "in", "br", "jp", "ca"]


def _insert(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def seed(database_url: str, sales: int) -> tuple[str, str]:
    """A year of history; returns (program id, proposed plan id)."""
    engine = make_engine(Settings(database_url=database_url))
    migrate.upgrade(engine)
    rng = random.Random(42)
    with transaction(engine) as session:
        program = create_program(
            session, name="Bench", domains=["bench.test"], currency="usd", owner_email="bench@example.com",
            owner_password="bench-password",
        ).program  # fmt: skip
        standard = Plan(program_id=program.id, name="Standard", bonuses=[], rules=[
            {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "lifetime"}},
            {"event": "lead", "reward": {"type": "flat", "amount": 500}},
        ])  # fmt: skip
        proposed = Plan(program_id=program.id, name="Proposed", rules=twenty_rules(), bonuses=BONUSES)
        session.add_all([standard, proposed])
        session.flush()
        session.get_one(Program, program.id).default_plan_id = standard.id
        groups = [Group(program_id=program.id, name=name) for name in ("Bronze", "Silver", "Gold")]
        session.add_all(groups)
        session.flush()
        program_id, proposed_id, workspace_id = program.id, proposed.id, program.workspace_id
        group_ids = [group.id for group in groups]
    now = datetime.now(UTC)
    partner_ids = [new_id() for _ in range(PARTNERS)]
    with transaction(engine) as session:
        _insert(session, Partner, [
            {"id": pid, "workspace_id": workspace_id, "email": f"p{index}@bench.test", "name": f"Partner {index:03d}",
             "country": rng.choice(COUNTRIES), "created_at": now}
            for index, pid in enumerate(partner_ids)
        ])  # fmt: skip
        _insert(session, Enrollment, [
            {"id": new_id(), "program_id": program_id, "partner_id": pid, "kind": "partner", "status": "approved",
             "referral_code": f"code{index}", "group_id": group_ids[index % 3], "created_at": now}
            for index, pid in enumerate(partner_ids)
        ])  # fmt: skip
        customers = []
        for index in range(CUSTOMERS):
            partner_id = partner_ids[min(int(rng.paretovariate(1.2)) - 1, PARTNERS - 1)]
            customers.append({"id": new_id(), "program_id": program_id, "external_id": f"cus_{index}",
                              "country": rng.choice(COUNTRIES), "partner_id": partner_id,
                              "metadata": {"seats": rng.randint(1, 60)}, "created_at": now})  # fmt: skip
        _insert(session, Customer, customers)
        leads, lead_commissions = [], []
        for customer in customers:
            at = YEAR + timedelta(seconds=rng.randint(0, 30 * 86_400))
            event_id = new_id()
            leads.append({"id": event_id, "program_id": program_id, "kind": "lead", "business_key": f"{customer['id']}:sign_up",
                          "customer_id": customer["id"], "partner_id": customer["partner_id"], "name": "sign_up",
                          "occurred_at": at, "created_at": now})  # fmt: skip
            lead_commissions.append(_commission(program_id, customer, event_id, "lead", 0, 500, at, now))
        _insert(session, Event, leads)
        _insert(session, Commission, lead_commissions)
    for start in range(0, sales, 20_000):
        with transaction(engine) as session:
            events, commissions = [], []
            for index in range(start, min(start + 20_000, sales)):
                customer = customers[rng.randrange(CUSTOMERS)]
                product = rng.choice(PRODUCTS)
                amount = PRICES[product]
                at = YEAR + timedelta(days=31, seconds=rng.randint(0, 330 * 86_400))
                sale_id = new_id()
                events.append({"id": sale_id, "program_id": program_id, "kind": "sale", "business_key": f"in_{index}",
                               "customer_id": customer["id"], "partner_id": customer["partner_id"], "amount": amount,
                               "currency": "usd", "program_amount": amount, "invoice_id": f"in_{index}",
                               "product_id": product, "occurred_at": at, "created_at": now})  # fmt: skip
                original = _commission(program_id, customer, sale_id, "sale", amount, amount // 5, at, now)
                commissions.append(original)
                if rng.random() < 0.03:
                    refund_id = new_id()
                    refunded_at = at + timedelta(days=rng.randint(1, 20))
                    events.append({"id": refund_id, "program_id": program_id, "kind": "refund",
                                   "business_key": f"full:{sale_id}", "customer_id": customer["id"],
                                   "partner_id": customer["partner_id"], "amount": amount, "currency": "usd",
                                   "program_amount": amount, "invoice_id": f"in_{index}", "sale_event_id": sale_id,
                                   "occurred_at": refunded_at, "created_at": now})  # fmt: skip
                    reversal = _commission(program_id, customer, refund_id, "reversal", -amount, -(amount // 5),
                                           refunded_at, now)  # fmt: skip
                    reversal["reverses_id"] = original["id"]
                    commissions.append(reversal)
            _insert(session, Event, events)
            _insert(session, Commission, commissions)
    engine.dispose()
    return program_id, proposed_id


def _commission(
    program_id: str,
    customer: dict[str, Any],
    event_id: str,
    kind: str,
    amount: int,
    earnings: int,
    at: datetime,
    now: datetime,
) -> dict[str, Any]:
    return {"id": new_id(), "program_id": program_id, "partner_id": customer["partner_id"],
            "customer_id": customer["id"], "event_id": event_id, "kind": kind, "reverses_id": "", "amount": amount,
            "currency": "usd", "program_amount": amount, "earnings_amount": earnings, "earnings_currency": "usd",
            "status": "approved", "explanation": "bench", "occurred_at": at, "hold_until": at, "created_at": now}  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would count the parent's memory at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(database_url: str, mode: str, program_id: str, plan_id: str, starts: str, to: str) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    from partnerloop.plan import repository, simulation
    from partnerloop.plan.schemas import SimulateIn

    engine = make_engine(Settings(database_url=database_url))
    body = SimulateIn.model_validate({"from": starts, "to": to})
    started = time.perf_counter()
    with transaction(engine, writes=False) as session:
        program = session.get_one(Program, program_id)
        if mode == "stream":
            start, end = simulation.window_of(body)
            rows = sum(1 for _ in repository.window_events(session, program_id, start, end, simulation.BATCH))
            result: dict[str, Any] = {"events": rows}
        else:
            plan = session.get_one(Plan, plan_id)
            answer = simulation.simulate(session, program, plan, body)
            result = {"events": answer.sales + answer.leads, "sales": answer.sales, "partners": len(answer.partners),
                      "current": answer.current.commissions_amount, "proposed": answer.proposed.commissions_amount,
                      "roi_now": answer.current.roi, "roi_proposed": answer.proposed.roi}  # fmt: skip
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def measure(database_url: str, mode: str, program_id: str, plan_id: str, starts: str, to: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", database_url, mode, program_id, plan_id, starts, to],
        capture_output=True, text=True, check=True, env={**os.environ},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def bench_database(label: str, database_url: str, sales: int) -> None:
    started = time.perf_counter()
    program_id, plan_id = seed(database_url, sales)
    print(f"{label}: seeded {sales} sales in {time.perf_counter() - started:.1f} s (untimed)")
    year = ("2025-01-01", "2025-12-31")
    baseline = measure(database_url, "stream", program_id, plan_id, *year)
    full = measure(database_url, "simulate", program_id, plan_id, *year)
    half = measure(database_url, "simulate", program_id, plan_id, "2025-01-01", "2025-06-30")
    print(
        f"  baseline stream  {baseline['events']:>7} events {baseline['seconds']:6.2f} s  peak RSS {baseline['peak_rss_mb']:6.1f} MB"
    )
    for name, figures in (("simulate year", full), ("simulate half", half)):
        print(
            f"  {name:<16} {figures['events']:>7} events {figures['seconds']:6.2f} s  "
            f"({figures['seconds'] / baseline['seconds']:.1f}x baseline, "
            f"{figures['seconds'] / figures['events'] * 1e6:.0f} µs/event)  peak RSS {figures['peak_rss_mb']:6.1f} MB"
        )
    print(f"  year: {full['sales']} sales, {full['partners']} partners, commissions now {full['current']} "
          f"vs proposed {full['proposed']}, ROI {full['roi_now']} vs {full['roi_proposed']}")  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:8])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    for name in args.databases.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory(prefix="pl-bench-sim-") as folder:
                bench_database("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.sales)
        elif name == "postgres":
            recreate_postgres(POSTGRES_URL)
            bench_database("PostgreSQL", POSTGRES_URL, args.sales)
        else:
            sys.exit(f"unknown database {name!r} (sqlite, postgres)")


if __name__ == "__main__":
    main()
