"""Microseconds per sale of the pure commission engine (plan/rules.py), in process, no database.

Three plans price the same sales: the baseline is a one-rule plan (20% of every sale); then a 20-rule
plan whose deciding rule is the last one (18 conditional rules that do not match, a campaign out of its
window, then a rule with four tiers by monthly sales and a cap per customer), and the same 20-rule
plan with three bonuses. Each sale's facts are built once beforehand; a second figure includes
building them. Prints µs per sale and the ratio to the baseline, measured in the same run.

Run: python bench/commission_engine.py [--sales 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from partnerloop.plan.rules import EventFacts, PlanTerms, compute_earnings, reached_bonuses
from partnerloop.plan.schemas import Bonus, Rule

START = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCTS = ["starter", "team", "business", "enterprise", "edu"]
COUNTRIES = ["us", "de", "fr", "gb", "in", "br", "jp"]


def pct(rate_bps: int) -> dict[str, Any]:
    return {"type": "percent", "rate_bps": rate_bps}


def twenty_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for index in range(18):  # each needs something no benchmark sale has
        rules.append(
            {
                "event": "sale",
                "name": f"Segment {index}",
                "reward": pct(2500 + index),
                "duration": {"kind": "lifetime"},
                "conditions": [
                    {"field": "product_id", "op": "in", "value": ["team", "business", "enterprise"]},
                    {"field": "sale.amount", "op": "gte", "value": 1_000},
                    {"field": "customer.metadata.segment", "op": "eq", "value": f"segment-{index}"},
                ],
            }
        )
    rules.append(
        {
            "event": "sale",
            "name": "Black Friday",
            "reward": pct(4000),
            "active": {"from": "2025-11-27T00:00:00Z", "until": "2025-12-01T00:00:00Z"},
        }
    )
    rules.append(
        {
            "event": "sale",
            "name": "Standard",
            "reward": pct(2000),
            "duration": {"kind": "months", "months": 12},
            "conditions": [{"field": "customer.country", "op": "not_in", "value": ["ru", "by"]}],
            "tiers": {
                "metric": "sales_count",
                "period": "month",
                "levels": [
                    {"min": 0, "reward": pct(2000)},
                    {"min": 10, "reward": pct(2500)},
                    {"min": 25, "reward": pct(3000)},
                    {"min": 50, "reward": pct(3500)},
                ],
            },
            "caps": {"per_customer_amount": 100_000},
        }
    )
    assert len(rules) == 20
    return rules


def plan(rules: list[dict[str, Any]], bonuses: list[dict[str, Any]] | None = None) -> PlanTerms:
    return PlanTerms(
        id="plan",
        name="Bench",
        rules=tuple(Rule.model_validate(rule) for rule in rules),
        bonuses=tuple(Bonus.model_validate(bonus) for bonus in bonuses or []),
    )


BONUSES = [
    {"name": "Ten", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10_000},
    {"name": "Fifty", "metric": "sales_count", "period": "quarter", "threshold": 50, "amount": 50_000},
    {"name": "Revenue", "metric": "revenue", "period": "year", "threshold": 10_000_000, "amount": 100_000},
]


def sale_facts(rng: random.Random, index: int) -> EventFacts:
    at = START + timedelta(minutes=index * 7)
    first = at - timedelta(days=rng.randint(0, 300))
    return EventFacts(
        kind="sale",
        occurred_at=at,
        amount=rng.choice([2_900, 4_900, 9_900, 49_900]),
        currency="usd",
        first_sale_at=first,
        is_first_sale=first == at,
        product_id=rng.choice(PRODUCTS),
        customer_country=rng.choice(COUNTRIES),
        customer_metadata={"seats": rng.randint(1, 50)},
        partner_group_name="Gold",
        stats={
            ("sales_count", "month"): rng.randint(0, 80),
            ("sales_count", "quarter"): rng.randint(0, 200),
            ("revenue", "year"): rng.randint(0, 20_000_000),
        },
        customer_earned=rng.randint(0, 120_000),
    )


def best_of(repeat: int, work: Callable[[], None]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sales", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)
    facts = [sale_facts(rng, index) for index in range(args.sales)]
    plans = {
        "1 rule (baseline)": plan([{"event": "sale", "reward": pct(2000), "duration": {"kind": "lifetime"}}]),
        "20 rules, tiers, cap": plan(twenty_rules()),
        "20 rules, tiers, cap, 3 bonuses": plan(twenty_rules(), BONUSES),
    }
    priced = {name: compute_earnings(terms, facts[0], "usd") for name, terms in plans.items()}
    assert all(not hasattr(result, "reason") for result in priced.values()), priced

    def engine_only(terms: PlanTerms) -> Callable[[], None]:
        def run() -> None:
            for item in facts:
                compute_earnings(terms, item, "usd")
                reached_bonuses(terms, item, "usd")

        return run

    def with_facts(terms: PlanTerms) -> Callable[[], None]:
        local = random.Random(11)

        def run() -> None:
            for index in range(args.sales):
                item = sale_facts(local, index)
                compute_earnings(terms, item, "usd")
                reached_bonuses(terms, item, "usd")

        return run

    print(
        f"{args.sales} sales, best of {args.repeat} runs, one process (Python {'.'.join(map(str, __import__('sys').version_info[:3]))})"
    )
    baseline = None
    for name, terms in plans.items():
        seconds = best_of(args.repeat, engine_only(terms))
        building = best_of(max(1, args.repeat // 2), with_facts(terms))
        per_sale = seconds / args.sales * 1e6
        baseline = baseline or per_sale
        print(
            f"{name:<34} {per_sale:7.2f} µs/sale  ({per_sale / baseline:4.1f}x baseline)  "
            f"| with facts built: {building / args.sales * 1e6:7.2f} µs/sale"
        )
    samples = [compute_earnings(plans["20 rules, tiers, cap"], item, "usd") for item in facts[:2000]]
    amounts = [result.earnings_amount for result in samples if hasattr(result, "earnings_amount")]
    print(f"(20-rule plan, first 2000 sales: {len(amounts)} earn, median {statistics.median(amounts)} cents)")


if __name__ == "__main__":
    main()
