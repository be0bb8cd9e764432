"""The engine's tiers, caps, campaign windows, currencies and bonuses as tables, at their edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from partnerloop.plan.bonuses import reached_bonuses
from partnerloop.plan.rules import (
    Earnings,
    EventFacts,
    NoEarnings,
    PlanTerms,
    compute_earnings,
    period_key,
    period_start,
)
from partnerloop.plan.schemas import Bonus, Rule

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def terms(*rules: dict[str, Any], bonuses: tuple[dict[str, Any], ...] = (), name: str = "Standard") -> PlanTerms:
    return PlanTerms(
        id="plan_1",
        name=name,
        rules=tuple(Rule.model_validate(rule) for rule in rules),
        bonuses=tuple(Bonus.model_validate(bonus) for bonus in bonuses),
    )


def sale(amount: int = 10_000, currency: str = "usd", at: datetime = AT, **facts: Any) -> EventFacts:
    return EventFacts("sale", at, amount, currency, first_sale_at=at, is_first_sale=True, **facts)


def pct(rate_bps: int) -> dict[str, Any]:
    return {"type": "percent", "rate_bps": rate_bps}


def earned(plan: PlanTerms, facts: EventFacts, program_currency: str = "usd") -> Earnings:
    result = compute_earnings(plan, facts, program_currency)
    assert isinstance(result, Earnings), result
    return result


# ---------------------------------------------------------------- tiers

COUNT_TIERS = terms(
    {
        "event": "sale",
        "reward": pct(1000),
        "tiers": {
            "metric": "sales_count",
            "period": "month",
            "levels": [
                {"min": 0, "reward": pct(1000)},
                {"min": 10, "reward": pct(2000)},
                {"min": 25, "reward": pct(3000)},
            ],
        },
    }
)


@pytest.mark.parametrize(
    ("sales_before", "earnings", "tier_text"),
    [
        pytest.param(0, 1000, "tier 1 of 3 (0 sales this month ≥ 0 sales)", id="a first sale of the month is tier 1"),
        pytest.param(9, 1000, "tier 1 of 3 (9 sales this month ≥ 0 sales)", id="nine sales before stay in tier 1"),
        pytest.param(10, 2000, "tier 2 of 3 (10 sales this month ≥ 10 sales)", id="ten sales before reach tier 2"),
        pytest.param(24, 2000, "tier 2 of 3 (24 sales this month ≥ 10 sales)", id="one short of tier 3"),
        pytest.param(25, 3000, "tier 3 of 3 (25 sales this month ≥ 25 sales)", id="exactly the tier 3 minimum"),
        pytest.param(1000, 3000, "tier 3 of 3 (1000 sales this month ≥ 25 sales)", id="far above the top tier"),
    ],
)
def test_count_tier_boundaries(sales_before: int, earnings: int, tier_text: str) -> None:
    result = earned(COUNT_TIERS, sale(stats={("sales_count", "month"): sales_before}))
    assert result.earnings_amount == earnings
    assert result.explanation == f"{earnings // 100}% of 100.00 USD under Standard, {tier_text}, one-time (first sale)"
    assert result.explanation_data["tier"]["value"] == sales_before


REVENUE_TIERS = terms(
    {
        "event": "sale",
        "reward": pct(500),
        "tiers": {
            "metric": "revenue",
            "period": "quarter",
            "levels": [{"min": 100_000, "reward": pct(1500)}, {"min": 500_000, "reward": pct(2500)}],
        },
    }
)


@pytest.mark.parametrize(
    ("revenue_before", "earnings", "level"),
    [
        pytest.param(99_999, 500, None, id="below the first revenue tier the rule's own reward applies"),
        pytest.param(100_000, 1500, 1, id="1000.00 of revenue this quarter reaches tier 1"),
        pytest.param(499_999, 1500, 1, id="a cent short of tier 2"),
        pytest.param(500_000, 2500, 2, id="5000.00 reaches tier 2"),
    ],
)
def test_revenue_tier_boundaries(revenue_before: int, earnings: int, level: int | None) -> None:
    result = earned(REVENUE_TIERS, sale(stats={("revenue", "quarter"): revenue_before}))
    assert result.earnings_amount == earnings
    assert result.explanation_data["tier"]["level"] == level


def test_below_the_first_tier_the_explanation_says_so() -> None:
    result = earned(REVENUE_TIERS, sale(stats={("revenue", "quarter"): 2_500}))
    assert result.explanation == (
        "5% of 100.00 USD under Standard, below the first tier (25.00 USD revenue this quarter < 1000.00 USD revenue), "
        "one-time (first sale)"
    )


def test_lead_tiers_pay_flat_amounts() -> None:
    plan = terms(
        {
            "event": "lead",
            "reward": {"type": "flat", "amount": 200},
            "tiers": {"metric": "leads_count", "period": "year",
                      "levels": [{"min": 0, "reward": {"type": "flat", "amount": 200}},
                                 {"min": 50, "reward": {"type": "flat", "amount": 400}}]},
        }
    )  # fmt: skip
    result = earned(plan, EventFacts("lead", AT, stats={("leads_count", "year"): 50}))
    assert (result.earnings_amount, result.explanation) == (
        400,
        "4.00 USD per lead under Standard, tier 2 of 2 (50 leads this year ≥ 50 leads)",
    )


@pytest.mark.parametrize(
    ("moment", "period", "start", "key"),
    [
        pytest.param(datetime(2026, 3, 31, 23, 59, tzinfo=UTC), "month", datetime(2026, 3, 1, tzinfo=UTC), "2026-03",
                     id="the last minute of March is in March"),
        pytest.param(datetime(2026, 4, 1, tzinfo=UTC), "month", datetime(2026, 4, 1, tzinfo=UTC), "2026-04",
                     id="April starts at midnight UTC"),
        pytest.param(datetime(2026, 12, 31, tzinfo=UTC), "quarter", datetime(2026, 10, 1, tzinfo=UTC), "2026-Q4",
                     id="December is in the fourth quarter"),
        pytest.param(datetime(2026, 7, 1, tzinfo=UTC), "year", datetime(2026, 1, 1, tzinfo=UTC), "2026",
                     id="a year starts on January 1"),
        pytest.param(datetime(2026, 7, 1, tzinfo=UTC), "lifetime", None, "lifetime", id="lifetime has no start"),
    ],
)  # fmt: skip
def test_periods(moment: datetime, period: str, start: datetime | None, key: str) -> None:
    assert (period_start(moment, period), period_key(moment, period)) == (start, key)


# ---------------------------------------------------------------- caps

CAPPED = terms(
    {"event": "sale", "reward": pct(2000), "duration": {"kind": "lifetime"}, "caps": {"per_customer_amount": 5_000}}
)


@pytest.mark.parametrize(
    ("earned_before", "earnings"),
    [
        pytest.param(0, 2000, id="far from the cap the sale earns in full"),
        pytest.param(3_000, 2000, id="a sale that reaches the cap exactly earns in full"),
        pytest.param(4_000, 1000, id="the cap is reached mid-sale: only what is left"),
        pytest.param(4_999, 1, id="one cent left under the cap"),
    ],
)
def test_per_customer_cap(earned_before: int, earnings: int) -> None:
    result = earned(CAPPED, sale(customer_earned=earned_before))
    assert result.earnings_amount == earnings


def test_a_cap_reached_mid_sale_is_explained() -> None:
    result = earned(CAPPED, sale(customer_earned=4_000))
    assert result.explanation == (
        "20% of 100.00 USD under Standard, month 1, lifetime; capped at 50.00 USD per customer "
        "(40.00 USD earned from this customer before): 10.00 USD"
    )
    assert result.explanation_data["cap"] == {
        "per_customer_amount": 5_000,
        "earned_before": 4_000,
        "uncapped_amount": 2_000,
        "capped_amount": 1_000,
    }


def test_a_reached_cap_earns_nothing_and_says_why() -> None:
    assert compute_earnings(CAPPED, sale(customer_earned=5_000), "usd") == NoEarnings(
        "Standard caps earnings at 50.00 USD per customer (50.00 USD earned from this customer before): "
        "the cap is reached, no commission."
    )


def test_the_tighter_of_two_caps_applies() -> None:
    plan = terms(
        {"event": "sale", "reward": pct(2000),
         "caps": {"per_customer_amount": 5_000, "per_period_amount": 10_000, "period": "month"}}
    )  # fmt: skip
    assert earned(plan, sale(customer_earned=1_000, period_earned={"month": 9_500})).earnings_amount == 500
    assert earned(plan, sale(customer_earned=4_500, period_earned={"month": 0})).earnings_amount == 500


# ---------------------------------------------------------------- campaign windows

CAMPAIGN = terms(
    {"event": "sale", "name": "Black Friday", "reward": pct(4000),
     "active": {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"}},
    {"event": "sale", "reward": pct(2000)},
)  # fmt: skip


@pytest.mark.parametrize(
    ("at", "earnings"),
    [
        pytest.param(datetime(2026, 11, 26, 23, 59, 59, 999_999, tzinfo=UTC), 2000, id="a microsecond before the campaign"),
        pytest.param(datetime(2026, 11, 27, tzinfo=UTC), 4000, id="the campaign's first instant doubles the rate"),
        pytest.param(datetime(2026, 11, 30, 23, 59, 59, 999_999, tzinfo=UTC), 4000, id="its last microsecond"),
        pytest.param(datetime(2026, 12, 1, tzinfo=UTC), 2000, id="until is not part of the campaign"),
        pytest.param(datetime(2026, 11, 27, 1, 0, tzinfo=UTC) + timedelta(hours=-2), 2000,
                     id="another zone's midnight is not the campaign's"),
    ],
)  # fmt: skip
def test_campaign_window_edges(at: datetime, earnings: int) -> None:
    assert earned(CAMPAIGN, sale(at=at)).earnings_amount == earnings


def test_a_campaign_rule_is_named_in_the_explanation() -> None:
    result = earned(CAMPAIGN, sale(at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC)))
    assert result.explanation == (
        "40% of 100.00 USD under Standard, rule 1 'Black Friday', campaign 2026-11-27 to 2026-12-01, one-time (first sale)"
    )
    assert result.explanation_data["campaign"] == {
        "from": "2026-11-27T00:00:00+00:00",
        "until": "2026-12-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("active", "at", "applies"),
    [
        pytest.param({"from": "2026-06-01T00:00:00Z"}, datetime(2026, 6, 1, tzinfo=UTC), True, id="open-ended from its start"),
        pytest.param({"from": "2026-06-01T00:00:00Z"}, datetime(2026, 5, 31, 23, 59, tzinfo=UTC), False, id="not before its start"),
        pytest.param({"until": "2026-06-01T00:00:00Z"}, datetime(2026, 5, 31, 23, 59, tzinfo=UTC), True, id="until a day"),
        pytest.param({"until": "2026-06-01T00:00:00Z"}, datetime(2026, 6, 1, tzinfo=UTC), False, id="not from that day"),
    ],
)  # fmt: skip
def test_half_open_windows(active: dict[str, str], at: datetime, applies: bool) -> None:
    plan = terms({"event": "sale", "reward": pct(4000), "active": active}, {"event": "sale", "reward": pct(2000)})
    assert earned(plan, sale(at=at)).earnings_amount == (4000 if applies else 2000)


# ---------------------------------------------------------------- currencies

CURRENCIES = [
    pytest.param(sale(999, "jpy"), "jpy", 150, "15% of 999 JPY under Standard, one-time (first sale)",
                 id="JPY has no minor unit: 149.85 yen round to 150"),
    pytest.param(sale(12_345, "kwd"), "kwd", 1_852, "15% of 12.345 KWD under Standard, one-time (first sale)",
                 id="KWD has three decimals: 1851.75 fils round to 1852"),
    pytest.param(sale(4_878, "usd", original_amount=4_500, original_currency="eur", fx_rate="1.0841"), "usd", 732,
                 "15% of 48.78 USD (45.00 EUR at 1.0841) under Standard, one-time (first sale)",
                 id="a converted sale names its own amount and the rate"),
    pytest.param(sale(1_000, "jpy", original_amount=10, original_currency="usd", fx_rate="1/0.0067"), "jpy", 150,
                 "15% of 1000 JPY (0.10 USD at 1/0.0067) under Standard, one-time (first sale)",
                 id="an inverse rate is shown as such"),
]  # fmt: skip


@pytest.mark.parametrize(("facts", "program_currency", "earnings", "explanation"), CURRENCIES)
def test_currencies(facts: EventFacts, program_currency: str, earnings: int, explanation: str) -> None:
    result = earned(terms({"event": "sale", "reward": pct(1500)}), facts, program_currency)
    assert (result.earnings_amount, result.earnings_currency, result.explanation) == (
        earnings,
        program_currency,
        explanation,
    )


def test_a_flat_reward_in_a_zero_decimal_program_currency() -> None:
    plan = terms({"event": "lead", "reward": {"type": "flat", "amount": 500}})
    assert earned(plan, EventFacts("lead", AT), "jpy").explanation == "500 JPY per lead under Standard"


# ---------------------------------------------------------------- bonuses

TEN_A_MONTH = {"name": "Ten club", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10_000}
REVENUE_YEAR = {"name": "Big year", "metric": "revenue", "period": "year", "threshold": 1_000_000, "amount": 50_000}
LEADS = {"name": "Fifty leads", "metric": "leads_count", "period": "quarter", "threshold": 50, "amount": 2_000}
WITH_BONUSES = terms({"event": "sale", "reward": pct(2000)}, bonuses=(TEN_A_MONTH, REVENUE_YEAR, LEADS))


@pytest.mark.parametrize(
    ("facts", "keys"),
    [
        pytest.param(sale(stats={("sales_count", "month"): 8}), [], id="the ninth sale of the month is short of ten"),
        pytest.param(sale(stats={("sales_count", "month"): 9}), ["plan_1:Ten club:2026-03"],
                     id="the tenth sale of the month reaches the bonus"),
        pytest.param(sale(stats={("sales_count", "month"): 10}), ["plan_1:Ten club:2026-03"],
                     id="the eleventh again: the same key, recorded once"),
        pytest.param(sale(5_000, stats={("revenue", "year"): 995_000}), ["plan_1:Big year:2026"],
                     id="revenue counting this sale reaches the yearly threshold"),
        pytest.param(sale(4_999, stats={("revenue", "year"): 995_000}), [], id="a cent short of the revenue threshold"),
        pytest.param(EventFacts("lead", AT, stats={("leads_count", "quarter"): 49}), ["plan_1:Fifty leads:2026-Q1"],
                     id="a lead reaches a leads bonus"),
        pytest.param(EventFacts("lead", AT, stats={("sales_count", "month"): 20}), [],
                     id="a lead does not move a sales bonus"),
    ],
)  # fmt: skip
def test_bonus_thresholds(facts: EventFacts, keys: list[str]) -> None:
    assert [bonus.bonus_key for bonus in reached_bonuses(WITH_BONUSES, facts, "usd")] == keys


def test_a_bonus_explains_itself() -> None:
    [bonus] = reached_bonuses(WITH_BONUSES, sale(stats={("sales_count", "month"): 9}), "usd")
    assert (bonus.earnings_amount, bonus.earnings_currency) == (10_000, "usd")
    assert bonus.explanation == (
        "Bonus 'Ten club' under Standard: 100.00 USD for reaching 10 sales in 2026-03 (10 sales with this sale)"
    )
    assert bonus.explanation_data["period_key"] == "2026-03"
