"""The commission engine as tables: rule validation, plan choice, amounts and rounding, durations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from partnerloop.plan.rules import Earnings, EventFacts, NoEarnings, PlanTerms, choose_plan_id, compute_earnings
from partnerloop.plan.schemas import PlanIn, Rule

FIRST_SALE = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)


def percent(rate_bps: int, duration: dict[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"event": "sale", "reward": {"type": "percent", "rate_bps": rate_bps}}
    if duration is not None:
        rule["duration"] = duration
    return rule


def flat(event: str, amount: int, duration: dict[str, Any] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"event": event, "reward": {"type": "flat", "amount": amount}}
    if duration is not None:
        rule["duration"] = duration
    return rule


def plan(*rules: dict[str, Any], name: str = "Standard") -> PlanTerms:
    return PlanTerms(id="plan_1", name=name, rules=tuple(Rule.model_validate(rule) for rule in rules))


def sale(amount: int, currency: str = "usd", at: datetime = FIRST_SALE, first: datetime = FIRST_SALE) -> EventFacts:
    return EventFacts("sale", at, amount, currency, first_sale_at=first, is_first_sale=at == first)


MONTHS_12 = {"kind": "months", "months": 12}
LIFETIME = {"kind": "lifetime"}


# ---------------------------------------------------------------- validation

VALID_RULES = [
    pytest.param(percent(2000, MONTHS_12), id="a percent sale rule for 12 months"),
    pytest.param(flat("lead", 500), id="a flat lead rule"),
    pytest.param(flat("click", 10), id="a flat click rule"),
    pytest.param(flat("sale", 1000, LIFETIME), id="a flat sale rule for the customer's lifetime"),
    pytest.param(percent(10_000), id="100 percent is the highest rate"),
    pytest.param(percent(1, {"kind": "months", "months": 120}), id="120 months is the longest duration"),
]


@pytest.mark.parametrize("rule", VALID_RULES)
def test_valid_rule_is_accepted(rule: dict[str, Any]) -> None:
    assert Rule.model_validate(rule).event == rule["event"]


def test_sale_rule_without_duration_pays_one_time() -> None:
    assert Rule.model_validate(percent(2000)).stored()["duration"] == {"kind": "one_time"}


def test_lead_rule_is_stored_without_duration() -> None:
    assert Rule.model_validate(flat("lead", 500)).stored() == flat("lead", 500)


INVALID_RULES = [
    pytest.param({"event": "lead", "reward": {"type": "percent", "rate_bps": 1000}}, id="percent on a lead"),
    pytest.param({"event": "click", "reward": {"type": "percent", "rate_bps": 1000}}, id="percent on a click"),
    pytest.param(flat("lead", 500, MONTHS_12), id="duration on a lead rule"),
    pytest.param(percent(0), id="a zero rate"),
    pytest.param(percent(10_001), id="a rate above 100 percent"),
    pytest.param({"event": "sale", "reward": {"type": "percent", "rate_bps": 20.0}}, id="a float rate"),
    pytest.param({"event": "sale", "reward": {"type": "percent", "rate_bps": "2000"}}, id="a rate as a string"),
    pytest.param(flat("lead", 0), id="a zero flat amount"),
    pytest.param(flat("lead", -500), id="a negative flat amount"),
    pytest.param({"event": "lead", "reward": {"type": "flat", "amount": True}}, id="a boolean amount"),
    pytest.param(percent(2000, {"kind": "months", "months": 0}), id="zero months"),
    pytest.param(percent(2000, {"kind": "months", "months": 121}), id="more than 120 months"),
    pytest.param(percent(2000, {"kind": "months"}), id="months without a number of months"),
    pytest.param(percent(2000, {"kind": "forever"}), id="an unknown duration kind"),
    pytest.param({"event": "signup", "reward": {"type": "flat", "amount": 500}}, id="an unknown event"),
    pytest.param({"event": "sale", "reward": {"type": "bounty", "amount": 500}}, id="an unknown reward type"),
    pytest.param({"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "bonus": 1}, id="an unknown field"),
    pytest.param({"event": "sale"}, id="a rule without a reward"),
]


@pytest.mark.parametrize("rule", INVALID_RULES)
def test_invalid_rule_is_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Rule.model_validate(rule)


def test_plan_needs_at_least_one_rule() -> None:
    with pytest.raises(ValidationError):
        PlanIn.model_validate({"name": "Empty", "rules": []})


# ---------------------------------------------------------------- which plan


@pytest.mark.parametrize(
    ("enrollment_plan", "group_plan", "default_plan", "expected"),
    [
        pytest.param("own", "gold", "default", "own", id="the partner's own plan beats the group's and the default"),
        pytest.param("own", None, "default", "own", id="the partner's own plan beats the program default"),
        pytest.param(None, "gold", "default", "gold", id="the group's plan beats the program default"),
        pytest.param(None, None, "default", "default", id="without an own or group plan the program default applies"),
        pytest.param(None, None, None, None, id="without any no plan applies"),
    ],
)
def test_plan_choice(
    enrollment_plan: str | None, group_plan: str | None, default_plan: str | None, expected: str | None
) -> None:
    assert choose_plan_id(enrollment_plan, group_plan, default_plan) == expected


# ---------------------------------------------------------------- amounts and rounding

EARNINGS = [
    pytest.param(
        plan(percent(2000, MONTHS_12)),
        sale(4900),
        "usd",
        980,
        "usd",
        "20% of 49.00 USD under Standard, month 1 of 12",
        id="20 percent of a 49 dollar first sale",
    ),
    pytest.param(
        plan(percent(1000)),
        sale(25),
        "usd",
        3,
        "usd",
        "10% of 0.25 USD under Standard, one-time (first sale)",
        id="half a cent rounds up",
    ),
    pytest.param(
        plan(percent(1000)),
        sale(24),
        "usd",
        2,
        "usd",
        "10% of 0.24 USD under Standard, one-time (first sale)",
        id="less than half a cent rounds down",
    ),
    pytest.param(
        plan(percent(1250)),
        sale(4900),
        "usd",
        613,
        "usd",
        "12.5% of 49.00 USD under Standard, one-time (first sale)",
        id="a fractional rate rounds once",
    ),
    pytest.param(
        plan(percent(1500)),
        sale(999, "jpy"),
        "usd",
        150,
        "jpy",
        "15% of 999 JPY under Standard, one-time (first sale)",
        id="JPY has no minor digits",
    ),
    pytest.param(
        plan(percent(1000)),
        sale(12345, "kwd"),
        "usd",
        1235,
        "kwd",
        "10% of 12.345 KWD under Standard, one-time (first sale)",
        id="KWD has three digits and half a fils rounds up",
    ),
    pytest.param(
        plan(flat("sale", 500)),
        sale(4900, "eur"),
        "usd",
        500,
        "usd",
        "5.00 USD per sale under Standard, one-time (first sale)",
        id="a flat sale reward is in the program currency",
    ),
    pytest.param(
        plan(flat("lead", 500)),
        EventFacts("lead", FIRST_SALE),
        "usd",
        500,
        "usd",
        "5.00 USD per lead under Standard",
        id="a lead pays its flat amount",
    ),
    pytest.param(
        plan(flat("click", 10)),
        EventFacts("click", FIRST_SALE),
        "eur",
        10,
        "eur",
        "0.10 EUR per click under Standard",
        id="a click pays its flat amount",
    ),
    pytest.param(
        plan(percent(3000), percent(1000)),
        sale(10000),
        "usd",
        3000,
        "usd",
        "30% of 100.00 USD under Standard, rule 1, one-time (first sale)",
        id="the first matching rule decides",
    ),
    pytest.param(
        plan(flat("lead", 500), percent(1000)),
        sale(10000),
        "usd",
        1000,
        "usd",
        "10% of 100.00 USD under Standard, one-time (first sale)",
        id="rules for other events are skipped",
    ),
]


@pytest.mark.parametrize(("terms", "facts", "program_currency", "amount", "currency", "explanation"), EARNINGS)
def test_earnings(
    terms: PlanTerms, facts: EventFacts, program_currency: str, amount: int, currency: str, explanation: str
) -> None:
    earned = compute_earnings(terms, facts, program_currency)
    assert isinstance(earned, Earnings), earned
    assert (earned.earnings_amount, earned.earnings_currency, earned.explanation) == (amount, currency, explanation)


def test_earnings_name_the_rule_that_decided() -> None:
    earned = compute_earnings(plan(flat("lead", 500), percent(1000)), sale(10000), "usd")
    assert isinstance(earned, Earnings)
    assert earned.rule_index == 1
    assert earned.rule == {
        "event": "sale",
        "reward": {"type": "percent", "rate_bps": 1000},
        "duration": {"kind": "one_time"},
    }


# ---------------------------------------------------------------- durations at their edges

DURATIONS = [
    pytest.param(
        percent(2000),
        sale(4900),
        "20% of 49.00 USD under Standard, one-time (first sale)",
        id="one-time pays the first sale",
    ),
    pytest.param(
        percent(2000),
        sale(4900, at=datetime(2026, 1, 31, 10, 1, tzinfo=UTC)),
        None,
        id="one-time pays nothing for a recurring sale a minute later",
    ),
    pytest.param(
        percent(2000, MONTHS_12),
        sale(4900, at=datetime(2027, 1, 31, 9, 59, 59, tzinfo=UTC)),
        "20% of 49.00 USD under Standard, month 12 of 12",
        id="12 months pays the last second of month 12",
    ),
    pytest.param(
        percent(2000, MONTHS_12),
        sale(4900, at=datetime(2027, 1, 31, 10, 0, tzinfo=UTC)),
        None,
        id="12 months pays nothing from the first moment of month 13",
    ),
    pytest.param(
        percent(2000, {"kind": "months", "months": 1}),
        sale(4900, at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC)),
        "20% of 49.00 USD under Standard, month 1 of 1",
        id="a short February is still month 1",
    ),
    pytest.param(
        percent(2000, {"kind": "months", "months": 1}),
        sale(4900, at=datetime(2026, 3, 1, tzinfo=UTC)),
        None,
        id="one month after January 31 ends with February",
    ),
    pytest.param(
        percent(2000, LIFETIME),
        sale(4900),
        "20% of 49.00 USD under Standard, month 1, lifetime",
        id="lifetime pays the first sale",
    ),
    pytest.param(
        percent(2000, LIFETIME),
        sale(4900, at=datetime(2027, 3, 15, tzinfo=UTC)),
        "20% of 49.00 USD under Standard, month 14, lifetime",
        id="lifetime pays month 14",
    ),
]


@pytest.mark.parametrize(("rule", "facts", "explanation"), DURATIONS)
def test_duration(rule: dict[str, Any], facts: EventFacts, explanation: str | None) -> None:
    earned = compute_earnings(plan(rule), facts, "usd")
    if explanation is None:
        assert isinstance(earned, NoEarnings)
    else:
        assert isinstance(earned, Earnings)
        assert earned.explanation == explanation
        assert earned.earnings_amount == 980


# ---------------------------------------------------------------- no earnings, and why

NOTHING = [
    pytest.param(
        None,
        sale(4900),
        "No commission plan applies: the partner has no plan and the program has no default plan.",
        id="no plan",
    ),
    pytest.param(plan(flat("lead", 500)), sale(4900), "Standard has no rule for sales.", id="no rule for the event"),
    pytest.param(
        plan(percent(2000)),
        sale(4900, at=datetime(2026, 5, 1, tzinfo=UTC)),
        "Standard pays the customer's first sale only; this is a recurring sale (month 4).",
        id="one-time and a recurring sale",
    ),
    pytest.param(
        plan(percent(2000, MONTHS_12)),
        sale(4900, at=datetime(2027, 2, 1, tzinfo=UTC)),
        "Standard pays sales for 12 months after the customer's first sale; this sale is in month 13.",
        id="a sale after the months",
    ),
    pytest.param(
        plan(percent(1)),
        sale(1),
        "0.01% of 0.01 USD under Standard rounds to 0.00 USD: no commission.",
        id="earnings that round to zero",
    ),
]


@pytest.mark.parametrize(("terms", "facts", "reason"), NOTHING)
def test_no_earnings_says_why(terms: PlanTerms | None, facts: EventFacts, reason: str) -> None:
    assert compute_earnings(terms, facts, "usd") == NoEarnings(reason)
