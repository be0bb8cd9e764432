"""The commission engine (pure): which plan applies, which rule decides, what it earns and why.

No session, no clock: callers pass the facts, including the customer's first sale time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from partnerloop.kit.money import format_money, format_rate, percent_of
from partnerloop.kit.time import months_between
from partnerloop.plan.schemas import EventKind, FlatReward, Lifetime, Months, OneTime, PercentReward, Rule

_PLURAL = {"click": "clicks", "lead": "leads", "sale": "sales"}


@dataclass(frozen=True)
class PlanTerms:
    """A plan as the engine sees it."""

    id: str
    name: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class EventFacts:
    """What happened. For a sale: its amount and currency and the customer's first sale time
    (`first_sale_at` is this sale's own time when it is the first; `is_first_sale` says so)."""

    kind: EventKind
    occurred_at: datetime
    amount: int = 0
    currency: str = ""
    first_sale_at: datetime | None = None
    is_first_sale: bool = True


@dataclass(frozen=True)
class Earnings:
    earnings_amount: int
    earnings_currency: str
    rule_index: int
    rule: dict[str, Any] = field(hash=False)
    explanation: str


@dataclass(frozen=True)
class NoEarnings:
    reason: str


def choose_plan_id(enrollment_plan_id: str | None, default_plan_id: str | None) -> str | None:
    """The partner's own plan, else the program's default plan, else none."""
    return enrollment_plan_id or default_plan_id


def first_matching_rule(plan: PlanTerms, kind: EventKind) -> tuple[int, Rule] | None:
    """The first rule in order whose event matches decides."""
    for index, rule in enumerate(plan.rules):
        if rule.event == kind:
            return index, rule
    return None


def sale_month(facts: EventFacts) -> int:
    """1 for sales within the first whole month after the customer's first sale, 2 for the next…"""
    first = facts.first_sale_at or facts.occurred_at
    return months_between(first, facts.occurred_at) + 1


def _duration_verdict(plan: PlanTerms, rule: Rule, facts: EventFacts) -> str | NoEarnings:
    """The explanation's duration part when the sale is paid, else why it is not."""
    duration = rule.duration
    month = sale_month(facts)
    if isinstance(duration, Months):
        if month > duration.months:
            return NoEarnings(
                f"{plan.name} pays sales for {duration.months} months after the customer's first sale; "
                f"this sale is in month {month}."
            )
        return f"month {month} of {duration.months}"
    if isinstance(duration, Lifetime):
        return f"month {month}, lifetime"
    assert duration is None or isinstance(duration, OneTime)
    if not facts.is_first_sale:
        return NoEarnings(f"{plan.name} pays the customer's first sale only; this is a recurring sale (month {month}).")
    return "one-time (first sale)"


def compute_earnings(plan: PlanTerms | None, facts: EventFacts, program_currency: str) -> Earnings | NoEarnings:
    """Price one event under `plan`: flat rewards in the program's currency, percent in the sale's."""
    if plan is None:
        return NoEarnings("No commission plan applies: the partner has no plan and the program has no default plan.")
    found = first_matching_rule(plan, facts.kind)
    if found is None:
        return NoEarnings(f"{plan.name} has no rule for {_PLURAL[facts.kind]}.")
    index, rule = found
    reward = rule.reward
    if facts.kind != "sale":
        assert isinstance(reward, FlatReward)  # validated: only sales take percent rewards
        text = f"{format_money(reward.amount, program_currency)} per {facts.kind} under {plan.name}"
        return Earnings(reward.amount, program_currency, index, rule.stored(), text)
    verdict = _duration_verdict(plan, rule, facts)
    if isinstance(verdict, NoEarnings):
        return verdict
    if isinstance(reward, PercentReward):
        amount, currency = percent_of(facts.amount, reward.rate_bps), facts.currency
        priced = f"{format_rate(reward.rate_bps)} of {format_money(facts.amount, facts.currency)} under {plan.name}"
    else:
        amount, currency = reward.amount, program_currency
        priced = f"{format_money(reward.amount, program_currency)} per sale under {plan.name}"
    if amount == 0:
        return NoEarnings(f"{priced} rounds to {format_money(0, currency)}: no commission.")
    return Earnings(amount, currency, index, rule.stored(), f"{priced}, {verdict}")
