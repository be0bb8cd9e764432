"""Engagement jobs over 10,000 partners and 1,000,000 sales (each with its commission) on PostgreSQL.

Seeds (untimed) a fresh database through COPY: one program, PARTNERS approved partners spread over a
three-tier ladder (Bronze -> Silver -> Gold by sales this month; Gold and Silver demote below a revenue
of last month), CUSTOMERS customers, COMMISSIONS sales over the last ~75 days each with one commission,
and one lead per customer. Then measures, in this process, each in its own transaction:

- baseline: the one aggregate every figure needs (sales and revenue per partner over a month), raw SQL;
- daily tier job: `tiers.evaluate` over every partner (moves recorded, partners moved, emails queued);
- monthly review job: `reviews.make_month` for last month (every figure, this month and the one before);
- announcement: `create_announcement` to every partner with email on (deliveries and batch jobs queued).

Prints seconds and the ratio to the baseline, with the targets from the issue (< 30 s, < 60 s, < 5 s).

Run: python bench/engagement.py [--partners 10000] [--commissions 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import bulk
from common import recreate_postgres

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/pl_bench_engagement"


def seed(url: str, partners: int, commissions: int) -> tuple[str, dict[str, str]]:
    from partnerloop import migrate
    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.models import Group, GroupTier
    from partnerloop.program.service import create_program

    engine = get_engine(Settings(database_url=url, environment="development"))
    migrate.upgrade(engine)
    with transaction(engine) as session:
        created = create_program(
            session, name="Bench", domains=["bench.test"], owner_email="owner@bench.test", owner_password=None
        )
        program_id, workspace_id = created.program.id, created.program.workspace_id
        groups = {name: Group(program_id=program_id, name=name) for name in ("Bronze", "Silver", "Gold")}
        session.add_all(groups.values())
        session.flush()
        ids = {name: group.id for name, group in groups.items()}
        session.add_all([
            GroupTier(group_id=ids["Bronze"], program_id=program_id, rank=1, perks=[],
                      promotion={"metric": "sales", "period": "month", "threshold": 10, "to_group_id": ids["Silver"]}),
            GroupTier(group_id=ids["Silver"], program_id=program_id, rank=2, perks=[],
                      promotion={"metric": "sales", "period": "month", "threshold": 25, "to_group_id": ids["Gold"]},
                      demotion={"metric": "revenue", "period": "month", "threshold": 50_000, "to_group_id": ids["Bronze"]}),
            GroupTier(group_id=ids["Gold"], program_id=program_id, rank=3, perks=["early_access"],
                      demotion={"metric": "revenue", "period": "month", "threshold": 200_000, "to_group_id": ids["Silver"]}),
        ])  # fmt: skip
    engine.dispose()

    ladder = [ids["Bronze"]] * 7 + [ids["Silver"]] * 2 + [ids["Gold"]]
    bulk.load(url, program_id, workspace_id, partners, commissions, ladder)
    return program_id, ids


def measure(url: str, program_id: str, partners: int) -> None:
    from sqlalchemy import func, select, text

    from partnerloop.config import Settings
    from partnerloop.db import get_engine, transaction
    from partnerloop.engagement.rules import review_month_due
    from partnerloop.engagement.schemas import AnnouncementIn
    from partnerloop.engagement.service import announcements, reviews, tiers
    from partnerloop.models import AnnouncementDelivery, Job, PerformanceReview, Program, TierMove

    engine = get_engine(Settings(database_url=url, environment="development"))
    now = datetime.now(UTC)
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    figures: dict[str, float] = {}
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        start = time.perf_counter()
        rows = connection.execute(
            text("SELECT partner_id, count(*), sum(program_amount) FROM events WHERE program_id = :p AND kind = 'sale' "
                 "AND occurred_at >= :s GROUP BY partner_id"), {"p": program_id, "s": month_start}
        ).all()  # fmt: skip
        figures["baseline"] = time.perf_counter() - start
    print(
        f"baseline (sales and revenue per partner this month, raw SQL, {len(rows)} partners): {figures['baseline']:.2f} s"
    )

    start = time.perf_counter()
    with transaction(engine) as session:
        program = session.get(Program, program_id)
        assert program is not None
        moves = tiers.evaluate(session, program, now)
    figures["tiers"] = time.perf_counter() - start
    with transaction(engine, writes=False) as session:
        recorded = session.execute(select(func.count()).select_from(TierMove)).scalar_one()
    by_kind = {kind: sum(1 for m in moves if m.direction == kind) for kind in ("promotion", "demotion")}
    print(f"daily tier job over {partners} partners: {figures['tiers']:.2f} s ({figures['tiers'] / figures['baseline']:.1f}x "
          f"baseline; target < 30 s): {by_kind['promotion']} promotions, {by_kind['demotion']} demotions, {recorded} recorded")  # fmt: skip

    month = review_month_due(now)
    start = time.perf_counter()
    with transaction(engine) as session:
        program = session.get(Program, program_id)
        assert program is not None
        made = reviews.make_month(session, program, month, now)
    figures["reviews"] = time.perf_counter() - start
    with transaction(engine, writes=False) as session:
        stored = session.execute(select(func.count()).select_from(PerformanceReview)).scalar_one()
    print(f"monthly review job ({month}): {figures['reviews']:.2f} s ({figures['reviews'] / figures['baseline']:.1f}x "
          f"baseline; target < 60 s): {made} reviews made, {stored} stored")  # fmt: skip

    start = time.perf_counter()
    with transaction(engine) as session:
        program = session.get(Program, program_id)
        assert program is not None
        announcement = announcements.create_announcement(
            session,
            program,
            AnnouncementIn(title="Bench news", body="**Hello** partners", email=True),
            now=now,
            actor="bench",
        )
    figures["announcement"] = time.perf_counter() - start
    with transaction(engine, writes=False) as session:
        deliveries = session.execute(select(func.count()).select_from(AnnouncementDelivery)).scalar_one()
        batches = session.execute(
            select(func.count()).select_from(Job).where(Job.kind == announcements.SEND_BATCH_JOB)
        ).scalar_one()
    print(f"announcement to every partner queued: {figures['announcement']:.2f} s "
          f"({figures['announcement'] / figures['baseline']:.1f}x baseline; target < 5 s): {deliveries} deliveries, "
          f"{batches} email batch jobs, recipients {announcement.recipients}")  # fmt: skip
    load1, _l5, _l15 = os.getloadavg()
    print(f"(load average {load1:.2f} on {os.cpu_count()} CPUs)")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--commissions", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DATABASE_URL)
    args = parser.parse_args()
    recreate_postgres(args.database_url)
    start = time.perf_counter()
    program_id, _groups = seed(args.database_url, args.partners, args.commissions)
    print(
        f"seeded {args.partners} partners, {args.commissions} sales and commissions in {time.perf_counter() - start:.0f} s"
    )
    measure(args.database_url, program_id, args.partners)


if __name__ == "__main__":
    main()
