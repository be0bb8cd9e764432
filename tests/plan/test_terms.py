"""Plans in plain words, as tables: each row a plan (or program setting) and the sentences a partner reads."""

from __future__ import annotations

from typing import Any

import pytest

from partnerloop.plan.schemas import Rule
from partnerloop.plan.terms import ProgramTerms, plan_in_words, program_in_words


def sale(rate_bps: int, duration: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {"event": "sale", "reward": {"type": "percent", "rate_bps": rate_bps}, **extra}
    if duration is not None:
        rule["duration"] = duration
    return rule


def flat(event: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {"event": event, "reward": {"type": "flat", "amount": amount}, **extra}


MONTHS_12 = {"kind": "months", "months": 12}
LIFETIME = {"kind": "lifetime"}
TIERS = {
    "metric": "sales_count",
    "period": "month",
    "levels": [
        {"min": 0, "reward": {"type": "percent", "rate_bps": 2000}},
        {"min": 10, "reward": {"type": "percent", "rate_bps": 3000}},
    ],
}

PLANS = [
    pytest.param(
        [sale(2000, MONTHS_12), flat("lead", 200)],
        [
            "You earn 20% of each payment for the first 12 months after the customer's first purchase.",
            "You earn 2.00 USD for each lead (a sign-up you refer).",
        ],
        id="the demo's standard plan: 20% for 12 months and 2 USD per lead",
    ),
    pytest.param(
        [sale(3000, LIFETIME)],
        ["You earn 30% of each payment for as long as the customer pays."],
        id="a lifetime plan pays every payment",
    ),
    pytest.param(
        [sale(1250)],
        ["You earn 12.5% of the customer's first payment."],
        id="a sale rule without duration pays the first payment only, rates keep their decimals",
    ),
    pytest.param(
        [sale(2000, {"kind": "months", "months": 1})],
        ["You earn 20% of each payment for the first month after the customer's first purchase."],
        id="one month reads in the singular",
    ),
    pytest.param(
        [flat("sale", 5000, duration=LIFETIME)],
        ["You earn 50.00 USD for each payment for as long as the customer pays."],
        id="a flat sale reward is an amount per payment",
    ),
    pytest.param(
        [flat("click", 5)],
        ["You earn 0.05 USD for each click."],
        id="a click rule pays per click",
    ),
    pytest.param(
        [
            sale(3000, LIFETIME, conditions=[{"field": "product_id", "op": "in", "value": ["team", "enterprise"]}]),
            sale(2000, MONTHS_12),
        ],
        [
            "When the product is team or enterprise, you earn 30% of each payment for as long as the customer pays.",
            "Otherwise, you earn 20% of each payment for the first 12 months after the customer's first purchase.",
        ],
        id="a later rule for the same event reads otherwise",
    ),
    pytest.param(
        [sale(2000), sale(5000)],
        ["You earn 20% of the customer's first payment."],
        id="a rule after one that always decides is never reached and is left out",
    ),
    pytest.param(
        [
            sale(
                2500,
                conditions=[
                    {"field": "customer.country", "op": "eq", "value": "de"},
                    {"field": "sale.amount", "op": "gte", "value": 10000},
                    {"field": "sale.type", "op": "eq", "value": "new"},
                ],
            )
        ],
        [
            "When the customer's country is DE, the sale is at least 100.00 USD and it is the customer's first "
            "payment, you earn 25% of the customer's first payment."
        ],
        id="conditions join with and; countries read in capitals, amounts as money",
    ),
    pytest.param(
        [sale(1000, conditions=[{"field": "coupon_code", "op": "not_in", "value": ["SPRING", "FALL"]}])],
        ["When the coupon code is none of SPRING or FALL, you earn 10% of the customer's first payment."],
        id="not in lists what is excluded",
    ),
    pytest.param(
        [sale(1000, conditions=[{"field": "customer.metadata.plan_tier", "op": "starts_with", "value": "pro"}])],
        ["When the customer's plan tier starts with pro, you earn 10% of the customer's first payment."],
        id="customer metadata reads by its key",
    ),
    pytest.param(
        [sale(2000, LIFETIME, tiers=TIERS)],
        [
            "You earn a share of each payment for as long as the customer pays: 20% to start and 30% once you "
            "have made 10 sales this month."
        ],
        id="tiers read as the rate to start and the rates reached",
    ),
    pytest.param(
        [
            sale(
                1000,
                tiers={
                    "metric": "revenue",
                    "period": "quarter",
                    "levels": [
                        {"min": 0, "reward": {"type": "percent", "rate_bps": 1000}},
                        {"min": 100000, "reward": {"type": "percent", "rate_bps": 1500}},
                    ],
                },
            )
        ],
        [
            "You earn a share of the customer's first payment: 10% to start and 15% once your referred revenue "
            "reaches 1000.00 USD this quarter."
        ],
        id="revenue tiers read as money over the period",
    ),
    pytest.param(
        [sale(2000, MONTHS_12, caps={"per_customer_amount": 50000})],
        [
            "You earn 20% of each payment for the first 12 months after the customer's first purchase. "
            "At most 500.00 USD per customer."
        ],
        id="a cap per customer follows the rule",
    ),
    pytest.param(
        [
            sale(4000, active={"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"}),
            sale(2000),
        ],
        [
            "From 27 Nov 2026 until 1 Dec 2026, you earn 40% of the customer's first payment.",
            "Otherwise, you earn 20% of the customer's first payment.",
        ],
        id="a rule active for a window reads its dates, and the next rule applies outside it",
    ),
    pytest.param(
        [sale(1000, active={"from": "2026-03-01T09:30:00+00:00"})],
        ["From 1 Mar 2026 09:30 UTC, you earn 10% of the customer's first payment."],
        id="a window starting mid-day reads its time",
    ),
    pytest.param(
        [sale(1000, conditions=[{"field": "partner.group", "op": "eq", "value": "grp_gold"}])],
        ["When your group is Gold, you earn 10% of the customer's first payment."],
        id="a group condition reads the group's name",
    ),
    pytest.param(
        [
            sale(2000, caps={"per_period_amount": 100000, "period": "month"}),
            flat("lead", 100, caps={"per_period_amount": 5}),
        ],
        [
            "You earn 20% of the customer's first payment. At most 1000.00 USD per month.",
            "You earn 1.00 USD for each lead (a sign-up you refer).",
        ],
        id="a cap per period reads with its period, and without a period caps nothing",
    ),
    pytest.param(
        [sale(4000, name="Black Friday", active={"from": "2026-11-27T00:00:00Z"}), sale(2000)],
        [
            "Black Friday: From 27 Nov 2026, you earn 40% of the customer's first payment.",
            "Otherwise, you earn 20% of the customer's first payment.",
        ],
        id="a named rule says its name",
    ),
    pytest.param([], [], id="a plan without rules has nothing to say"),
]


@pytest.mark.parametrize(("rules", "expected"), PLANS)
def test_plan_reads_in_plain_words(rules: list[dict[str, Any]], expected: list[str]) -> None:
    assert plan_in_words(rules, "usd", group_names={"grp_gold": "Gold"}) == expected


BONUSES = [
    pytest.param(
        {"name": "Ten club", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10000},
        "Bonus “Ten club”: 100.00 USD once a month, when you have made 10 sales this month.",
        id="a monthly sales bonus",
    ),
    pytest.param(
        {"name": "", "metric": "revenue", "period": "year", "threshold": 1000000, "amount": 50000},
        "Bonus: 500.00 USD once a year, when your referred revenue reaches 10000.00 USD this year.",
        id="a yearly revenue bonus without a name",
    ),
    pytest.param(
        {"name": "First sale", "metric": "sales_count", "period": "lifetime", "threshold": 1, "amount": 2500},
        "Bonus “First sale”: 25.00 USD once, when you have made 1 sale in total.",
        id="a one-off bonus reads in the singular",
    ),
]


@pytest.mark.parametrize(("bonus", "expected"), BONUSES)
def test_bonus_reads_after_the_rules(bonus: dict[str, Any], expected: str) -> None:
    assert plan_in_words([sale(2000)], "usd", bonuses=[bonus]) == [
        "You earn 20% of the customer's first payment.",
        expected,
    ]


def test_amounts_read_in_the_programs_currency() -> None:
    assert plan_in_words([flat("lead", 500)], "jpy") == ["You earn 500 JPY for each lead (a sign-up you refer)."]


PROGRAMS = [
    pytest.param(
        ProgramTerms("usd", 90, "last_click", 30, 5000),
        [
            "A visitor you send counts as yours for 90 days after they click your link; a later click on another "
            "partner's link takes the customer over.",
            "Commissions are approved 30 days after the sale, once the refund window has passed.",
            "You are paid once your approved earnings reach 50.00 USD.",
        ],
        id="the defaults: 90 days, last click, 30 days of hold, 50 USD minimum",
    ),
    pytest.param(
        ProgramTerms("eur", 1, "first_click", 0, 0),
        [
            "A visitor you send counts as yours for 1 day after they click your link; the first partner whose link "
            "the visitor clicked keeps the customer.",
            "Commissions are approved as soon as they are recorded.",
            "Approved earnings are paid in the next payout, whatever the amount.",
        ],
        id="first click, no hold, no minimum",
    ),
    pytest.param(
        ProgramTerms("usd", 30, "linear", 1, 100),
        [
            "A visitor you send counts as yours for 30 days after they click your link; when several partners sent "
            "the customer, the commission is shared equally.",
            "Commissions are approved 1 day after the sale, once the refund window has passed.",
            "You are paid once your approved earnings reach 1.00 USD.",
        ],
        id="linear attribution shares the commission",
    ),
]


@pytest.mark.parametrize(("terms", "expected"), PROGRAMS)
def test_program_settings_read_in_plain_words(terms: ProgramTerms, expected: list[str]) -> None:
    assert program_in_words(terms) == expected


def test_a_plan_as_the_api_stores_it_reads_in_plain_words() -> None:
    """The stored shape of a validated plan (aliases, defaults) is what the portal reads."""
    rule = Rule.model_validate(
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2500}, "duration": {"kind": "lifetime"},
         "active": {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"},
         "conditions": [{"field": "product_id", "op": "eq", "value": "team"}]}
    ).stored()  # fmt: skip
    assert plan_in_words([rule], "usd") == [
        "From 27 Nov 2026 until 1 Dec 2026, when the product is team, you earn 25% of each payment for as long as "
        "the customer pays."
    ]
