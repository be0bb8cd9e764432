"""The commission engine (pure): which plan applies, which rule decides, what it earns and why.

No session, no clock: callers pass the facts (`EventFacts`): the event, the customer and partner
it concerns, and the partner's volume before it (`stats`), and what was earned from the customer
and in each capped period so far. A sale's `amount` is in the program's currency (the service
converts it first; `original_amount` / `original_currency` / `fx_rate` keep the sale as it came).

Each result carries an explanation as a sentence and as structured data (rule, conditions and the
values they saw, tier, campaign window, duration, cap, and the arithmetic).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from partnerloop.kit.money import format_money, format_rate, percent_of
from partnerloop.kit.time import as_utc, months_between
from partnerloop.plan.conditions import Check, Subject, compile_condition, condition_text
from partnerloop.plan.schemas import (
    DEFAULT_CLICKS_PER_DAY,
    Bonus,
    Caps,
    EventKind,
    FlatReward,
    Lifetime,
    Months,
    OneTime,
    PercentReward,
    Rule,
    Tiers,
)

_PLURAL = {"click": "clicks", "lead": "leads", "sale": "sales"}
_PERIOD_TEXT = {"month": "this month", "quarter": "this quarter", "year": "this year", "lifetime": "in total"}
Stat = tuple[str, str]  # (metric, period)


@dataclass(frozen=True)
class _CompiledRule:
    index: int
    rule: Rule
    checks: tuple[Check, ...]
    stored: dict[str, Any]


@dataclass(frozen=True)
class PlanTerms:
    """A plan as the engine sees it."""

    id: str
    name: str
    rules: tuple[Rule, ...]
    bonuses: tuple[Bonus, ...] = ()

    @cached_property
    def compiled(self) -> dict[str, tuple[_CompiledRule, ...]]:
        """Per event, its rules in order with their conditions compiled (built once per plan version)."""
        by_event: dict[str, list[_CompiledRule]] = {}
        for index, rule in enumerate(self.rules):
            checks = tuple(
                compile_condition(condition.field, condition.op, condition.value) for condition in rule.conditions or ()
            )
            by_event.setdefault(rule.event, []).append(_CompiledRule(index, rule, checks, rule.stored()))
        return {event: tuple(rules) for event, rules in by_event.items()}


@dataclass(frozen=True)
class EventFacts:
    """What happened and what the engine may look at.

    For a sale: `amount` / `currency` in the program's currency, the customer's first sale time
    (`first_sale_at` is this sale's own time when it is the first; `is_first_sale` says so).
    `stats` holds the partner's volume before this event per (metric, period); `customer_earned`
    what the partner earned from this customer so far; `period_earned` what the partner earned in
    the current period, per period (all in the program's currency).
    """

    kind: EventKind
    occurred_at: datetime
    amount: int = 0
    currency: str = ""
    first_sale_at: datetime | None = None
    is_first_sale: bool = True
    original_amount: int | None = None
    original_currency: str | None = None
    fx_rate: str | None = None
    product_id: str | None = None
    coupon_code: str | None = None
    customer_country: str | None = None
    customer_metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    partner_group_id: str | None = None
    partner_group_name: str | None = None
    partner_country: str | None = None
    stats: Mapping[Stat, int] = field(default_factory=dict, hash=False)
    customer_earned: int = 0
    period_earned: Mapping[str, int] = field(default_factory=dict, hash=False)
    day_clicks: int = 0  # a click: the partner's click commissions of its UTC day before it
    day_click_earned: int = 0  # … and what they earned

    def subject(self) -> Subject:
        return Subject(
            product_id=self.product_id,
            coupon_code=self.coupon_code,
            sale_amount=self.amount if self.kind == "sale" else None,
            sale_type=("new" if self.is_first_sale else "recurring") if self.kind == "sale" else None,
            sale_currency=(self.original_currency or self.currency) if self.kind == "sale" else None,
            customer_country=self.customer_country,
            customer_metadata=self.customer_metadata,
            partner_group_id=self.partner_group_id,
            partner_group_name=self.partner_group_name,
            partner_country=self.partner_country,
        )


@dataclass(frozen=True)
class Earnings:
    earnings_amount: int
    earnings_currency: str
    rule_index: int
    rule: dict[str, Any] = field(hash=False)
    explanation: str
    explanation_data: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class CreditShare:
    """The partner's share of a sale split by a multi-touch model: `part` maps the commission the
    whole sale earns under the partner's plan to the partner's part of it (a pure function: the
    model's split, which rounds so that equal wholes split exactly); caps then cut that part."""

    label: str  # "50% share (linear)"
    part: Callable[[int], int] = field(hash=False, compare=False)


@dataclass(frozen=True)
class NoEarnings:
    reason: str


@dataclass(frozen=True)
class BonusEarnings:
    name: str
    bonus_key: str  # plan, bonus name and period: paid once per partner
    earnings_amount: int
    earnings_currency: str
    explanation: str
    explanation_data: dict[str, Any] = field(hash=False, compare=False)


# ---------------------------------------------------------------- plan choice and periods


def choose_plan_id(
    enrollment_plan_id: str | None, group_plan_id: str | None, default_plan_id: str | None
) -> str | None:
    """The partner's own plan beats the group's, which beats the program's default; else none."""
    return enrollment_plan_id or group_plan_id or default_plan_id


def period_start(moment: datetime, period: str) -> datetime | None:
    """The start (UTC) of the calendar period holding `moment`; None for lifetime."""
    moment = as_utc(moment)
    if period == "month":
        return datetime(moment.year, moment.month, 1, tzinfo=UTC)
    if period == "quarter":
        return datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1, tzinfo=UTC)
    if period == "year":
        return datetime(moment.year, 1, 1, tzinfo=UTC)
    return None


def period_key(moment: datetime, period: str) -> str:
    """'2026-11', '2026-Q4', '2026' or 'lifetime'."""
    moment = as_utc(moment)
    if period == "month":
        return f"{moment.year}-{moment.month:02d}"
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    if period == "year":
        return str(moment.year)
    return "lifetime"


def needed_stats(plan: PlanTerms) -> set[Stat]:
    """The (metric, period) volumes the plan's tiers and bonuses look at."""
    needed = {(rule.tiers.metric, rule.tiers.period) for rule in plan.rules if rule.tiers is not None}
    return needed | {(bonus.metric, bonus.period) for bonus in plan.bonuses}


def needs_customer_earned(plan: PlanTerms) -> bool:
    return any(rule.caps is not None and rule.caps.per_customer_amount is not None for rule in plan.rules)


def capped_periods(plan: PlanTerms) -> set[str]:
    return {
        rule.caps.period
        for rule in plan.rules
        if rule.caps is not None and rule.caps.per_period_amount is not None and rule.caps.period is not None
    }


def event_volume(kind: str, amount: int) -> dict[str, int]:
    """What one event adds to each metric."""
    if kind == "sale":
        return {"sales_count": 1, "revenue": amount}
    if kind == "lead":
        return {"leads_count": 1}
    return {}


# ---------------------------------------------------------------- pieces of the explanation


def volume_text(metric: str, value: int, currency: str) -> str:
    if metric == "revenue":
        return f"{format_money(value, currency)} revenue"
    noun = {"sales_count": "sale", "leads_count": "lead"}.get(metric, metric)
    return f"{value} {noun}{'' if value == 1 else 's'}"


def _reward_data(reward: PercentReward | FlatReward) -> dict[str, Any]:
    return reward.model_dump(mode="json")


def _moment_text(moment: datetime | None) -> str:
    if moment is None:
        return "open"
    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%d") if moment.time() == datetime.min.time() else moment.strftime("%Y-%m-%d %H:%M")


def _window_text(rule: Rule) -> str:
    assert rule.active is not None
    starts, until = rule.active.starts, rule.active.until
    if starts and until:
        return f"{_moment_text(starts)} to {_moment_text(until)}"
    return f"from {_moment_text(starts)}" if starts else f"until {_moment_text(until)}"


def _in_window(rule: Rule, moment: datetime) -> bool:
    if rule.active is None:
        return True
    starts, until = rule.active.starts, rule.active.until
    return (starts is None or moment >= starts) and (until is None or moment < until)


@dataclass(frozen=True)
class _Match:
    index: int
    rule: Rule
    stored: dict[str, Any]
    conditions: list[dict[str, Any]]


def _rule_label(index: int, rule: Rule) -> str:
    return f"rule {index + 1}" + (f" '{rule.name}'" if rule.name else "")


def _miss_text(rule: Rule, position: int | None, actual: Any, currency: str) -> str:
    """Why a rule did not match: its window, or the condition that failed and the value seen."""
    if position is None:
        return f"is active {_window_text(rule)}"
    assert rule.conditions is not None
    condition = rule.conditions[position]
    got = "nothing" if actual is None else str(actual)
    return f"needs {condition_text(condition.field, condition.op, condition.value, currency)} (got {got})"


def _find_rule(plan: PlanTerms, facts: EventFacts) -> _Match | NoEarnings:
    """The first rule in order whose event, window and conditions match."""
    candidates = plan.compiled.get(facts.kind, ())
    if not candidates:
        return NoEarnings(f"{plan.name} has no rule for {_PLURAL[facts.kind]}.")
    subject = facts.subject()
    values = subject.values()
    misses: list[tuple[Rule, int, int | None, Any]] = []
    for compiled in candidates:
        rule = compiled.rule
        if rule.active is not None and not _in_window(rule, facts.occurred_at):
            misses.append((rule, compiled.index, None, None))
            continue
        seen: list[Any] = []
        for position, check in enumerate(compiled.checks):
            ok, actual = check(subject, values)
            if not ok:
                misses.append((rule, compiled.index, position, actual))
                break
            seen.append(actual)
        else:
            conditions = [
                {
                    "field": condition.field,
                    "op": condition.op,
                    "value": condition.value,
                    "actual": actual,
                    "holds": True,
                }
                for condition, actual in zip(rule.conditions or (), seen, strict=True)
            ]
            return _Match(compiled.index, rule, compiled.stored, conditions)
    reasons = "; ".join(
        f"{_rule_label(index, rule)} {_miss_text(rule, position, actual, facts.currency)}"
        for rule, index, position, actual in misses
    )
    return NoEarnings(f"{plan.name} has no rule for this {facts.kind}: {reasons}.")


def first_matching_rule(plan: PlanTerms, facts: EventFacts) -> tuple[int, Rule] | None:
    found = _find_rule(plan, facts)
    return None if isinstance(found, NoEarnings) else (found.index, found.rule)


def sale_month(facts: EventFacts) -> int:
    """1 for sales within the first whole month after the customer's first sale, 2 for the next…"""
    first = facts.first_sale_at or facts.occurred_at
    return months_between(first, facts.occurred_at) + 1


def _duration_verdict(plan: PlanTerms, rule: Rule, facts: EventFacts) -> tuple[str, dict[str, Any]] | NoEarnings:
    """The explanation's duration part when the sale is paid, else why it is not."""
    duration = rule.duration
    month = sale_month(facts)
    if isinstance(duration, Months):
        if month > duration.months:
            return NoEarnings(
                f"{plan.name} pays sales for {duration.months} months after the customer's first sale; "
                f"this sale is in month {month}."
            )
        return f"month {month} of {duration.months}", {"kind": "months", "months": duration.months, "month": month}
    if isinstance(duration, Lifetime):
        return f"month {month}, lifetime", {"kind": "lifetime", "month": month}
    assert duration is None or isinstance(duration, OneTime)
    if not facts.is_first_sale:
        return NoEarnings(f"{plan.name} pays the customer's first sale only; this is a recurring sale (month {month}).")
    return "one-time (first sale)", {"kind": "one_time", "month": month}


def _tier(tiers: Tiers, facts: EventFacts) -> tuple[int | None, int]:
    """(index of the level reached or None below the first, the volume it was chosen by)."""
    value = facts.stats.get((tiers.metric, tiers.period), 0)
    reached = None
    for position, level in enumerate(tiers.levels):
        if value >= level.min:
            reached = position
    return reached, value


def _tier_text(tiers: Tiers, reached: int | None, value: int, currency: str) -> str:
    volume = f"{volume_text(tiers.metric, value, currency)} {_PERIOD_TEXT[tiers.period]}"
    if reached is None:
        first = volume_text(tiers.metric, tiers.levels[0].min, currency)
        return f"below the first tier ({volume} < {first})"
    minimum = volume_text(tiers.metric, tiers.levels[reached].min, currency)
    return f"tier {reached + 1} of {len(tiers.levels)} ({volume} ≥ {minimum})"


def _price(reward: PercentReward | FlatReward, facts: EventFacts, program_currency: str) -> tuple[int, str, str, str]:
    """(amount, currency, the priced phrase, the arithmetic)."""
    if isinstance(reward, PercentReward):
        amount = percent_of(facts.amount, reward.rate_bps)
        exact = Decimal(facts.amount * reward.rate_bps) / Decimal(10_000)
        phrase = f"{format_rate(reward.rate_bps)} of {format_money(facts.amount, facts.currency)}"
        if facts.original_currency and facts.original_amount is not None and facts.original_currency != facts.currency:
            phrase += f" ({format_money(facts.original_amount, facts.original_currency)} at {facts.fx_rate})"
        arithmetic = f"{facts.amount} × {reward.rate_bps} ÷ 10000 = {exact:f} → {amount}"
        return amount, facts.currency, phrase, arithmetic
    return (
        reward.amount,
        program_currency,
        f"{format_money(reward.amount, program_currency)} per {facts.kind}",
        (f"flat {reward.amount}"),
    )


def _apply_caps(
    plan: PlanTerms, rule: Rule, facts: EventFacts, amount: int, currency: str
) -> tuple[int, str, dict[str, Any] | None] | NoEarnings:
    """Cut the amount to what the caps leave; (amount, phrase, data) or NoEarnings when nothing is left."""
    caps = rule.caps
    if caps is None and facts.kind != "click":
        return amount, "", None
    limits: list[tuple[int, str, dict[str, Any]]] = []
    if facts.kind == "click":
        limits += _click_day_limits(caps, facts, amount, currency)
    if caps is not None and caps.per_customer_amount is not None:
        room = max(caps.per_customer_amount - facts.customer_earned, 0)
        limits.append(
            (
                room,
                f"{format_money(caps.per_customer_amount, currency)} per customer "
                f"({format_money(facts.customer_earned, currency)} earned from this customer before)",
                {"per_customer_amount": caps.per_customer_amount, "earned_before": facts.customer_earned},
            )
        )
    if caps is not None and caps.per_period_amount is not None and caps.period is not None:
        earned = facts.period_earned.get(caps.period, 0)
        room = max(caps.per_period_amount - earned, 0)
        limits.append(
            (
                room,
                f"{format_money(caps.per_period_amount, currency)} {_PERIOD_TEXT[caps.period].replace('this', 'per')} "
                f"({format_money(earned, currency)} earned {_PERIOD_TEXT[caps.period]} before)",
                {"per_period_amount": caps.per_period_amount, "period": caps.period, "earned_before": earned},
            )
        )
    if not limits:
        return amount, "", None
    room, phrase, data = min(limits, key=lambda limit: limit[0])
    if room >= amount:
        return amount, "", None
    if room == 0:
        return NoEarnings(f"{plan.name} caps earnings at {phrase}: the cap is reached, no commission.")
    capped = {**data, "uncapped_amount": amount, "capped_amount": room}
    return room, f"; capped at {phrase}: {format_money(room, currency)}", capped


def _click_day_limits(
    caps: Caps | None, facts: EventFacts, amount: int, currency: str
) -> list[tuple[int, str, dict[str, Any]]]:
    """A click's room under its rule's daily caps per partner (the default count when it names none)."""
    per_day_count = caps.per_day_count if caps is not None else None
    per_day_amount = caps.per_day_amount if caps is not None else None
    default = per_day_count is None and per_day_amount is None
    if default:
        per_day_count = DEFAULT_CLICKS_PER_DAY
    limits: list[tuple[int, str, dict[str, Any]]] = []
    if per_day_count is not None:
        paid = facts.day_clicks
        noun = "click" if per_day_count == 1 else "clicks"
        limits.append(
            (
                amount if paid < per_day_count else 0,
                f"{per_day_count} {noun} per day{' (the default for click rules)' if default else ''} "
                f"({paid} paid today before)",
                {"per_day_count": per_day_count, "default": default, "paid_before": paid},
            )
        )
    if per_day_amount is not None:
        earned = facts.day_click_earned
        limits.append(
            (
                max(per_day_amount - earned, 0),
                f"{format_money(per_day_amount, currency)} of clicks per day "
                f"({format_money(earned, currency)} earned from clicks today before)",
                {"per_day_amount": per_day_amount, "earned_before": earned},
            )
        )
    return limits


def _rule_labels(plan: PlanTerms, found: _Match, facts: EventFacts) -> tuple[list[str], dict[str, Any] | None]:
    """The deciding rule's part of the explanation (named when the plan has several for the event, or
    conditions; with the values they saw) and its campaign window, as text and data."""
    rule, labels = found.rule, []
    if len(plan.compiled.get(facts.kind, ())) > 1 or rule.name or found.conditions:
        label = _rule_label(found.index, rule)
        if found.conditions:
            seen = "; ".join(
                f"{condition_text(item['field'], item['op'], item['value'], facts.currency)}: {item['actual']}"
                for item in found.conditions
            )
            label += f" ({seen})"
        labels.append(label)
    if rule.active is None:
        return labels, None
    labels.append(f"campaign {_window_text(rule)}")
    campaign = {
        "from": rule.active.starts.isoformat() if rule.active.starts else None,
        "until": rule.active.until.isoformat() if rule.active.until else None,
    }
    return labels, campaign


def _tiered_reward(
    rule: Rule, facts: EventFacts, program_currency: str
) -> tuple[PercentReward | FlatReward, str | None, dict[str, Any] | None]:
    """The reward of the tier the partner's volume reached (the rule's own below the first), its text and data."""
    if rule.tiers is None:
        return rule.reward, None, None
    reached, value = _tier(rule.tiers, facts)
    reward = rule.tiers.levels[reached].reward if reached is not None else rule.reward
    data = {
        "metric": rule.tiers.metric,
        "period": rule.tiers.period,
        "value": value,
        "level": None if reached is None else reached + 1,
        "min": None if reached is None else rule.tiers.levels[reached].min,
        "levels": len(rule.tiers.levels),
    }
    return reward, _tier_text(rule.tiers, reached, value, facts.currency or program_currency), data


def _priced_data(reward: PercentReward | FlatReward, facts: EventFacts) -> dict[str, Any]:
    """The reward and what it was applied to (for a sale: as it came and in the program's currency)."""
    percent = isinstance(reward, PercentReward)
    sale = {
        "amount": facts.original_amount if facts.original_amount is not None else facts.amount,
        "currency": facts.original_currency or facts.currency,
        "fx_rate": facts.fx_rate,
        "program_amount": facts.amount,
    }
    return {
        "reward": _reward_data(reward),
        "base_amount": facts.amount if percent else None,
        "base_currency": facts.currency if percent else None,
        "sale": sale if facts.kind == "sale" else None,
    }


def compute_earnings(
    plan: PlanTerms | None, facts: EventFacts, program_currency: str, share: CreditShare | None = None
) -> Earnings | NoEarnings:
    """Price one event under `plan`: the first matching rule decides, its tier prices the event,
    `share` (a multi-touch split) takes the partner's part of that, its caps cut it. Flat rewards are
    in the program's currency, percent ones in `facts.currency` (the program's, once the service has
    converted the sale)."""
    if plan is None:
        return NoEarnings("No commission plan applies: the partner has no plan and the program has no default plan.")
    found = _find_rule(plan, facts)
    if isinstance(found, NoEarnings):
        return found
    index, rule = found.index, found.rule
    data: dict[str, Any] = {
        "plan_id": plan.id,
        "plan_name": plan.name,
        "rule_index": index,
        "rule_name": rule.name,
        "event": facts.kind,
        "conditions": found.conditions,
        "campaign": None,
        "tier": None,
        "duration": None,
        "cap": None,
    }
    labels, data["campaign"] = _rule_labels(plan, found, facts)
    verdict = ""
    if facts.kind == "sale":
        judged = _duration_verdict(plan, rule, facts)
        if isinstance(judged, NoEarnings):
            return judged
        verdict, data["duration"] = judged
    reward, tier_label, data["tier"] = _tiered_reward(rule, facts, program_currency)
    labels += [tier_label] if tier_label else []
    if facts.kind != "sale":
        assert isinstance(reward, FlatReward)  # validated: only sales take percent rewards
    amount, currency, priced, arithmetic = _price(reward, facts, program_currency)
    priced = f"{priced} under {plan.name}"
    if share is not None:
        whole, amount = amount, share.part(amount)
        priced = f"{share.label} of {priced}"
        arithmetic += f"; {share.label} of {whole} = {amount}"
        data["share"] = {"label": share.label, "of_amount": whole}
    capped = _apply_caps(plan, rule, facts, amount, currency)
    if isinstance(capped, NoEarnings):
        return capped
    amount, cap_text, data["cap"] = capped
    if amount == 0:
        return NoEarnings(f"{priced} rounds to {format_money(0, currency)}: no commission.")
    text = ", ".join([priced, *labels, *([verdict] if verdict else [])]) + cap_text
    data.update(_priced_data(reward, facts))
    data.update({"arithmetic": arithmetic, "earnings_amount": amount, "earnings_currency": currency})
    return Earnings(amount, currency, index, dict(found.stored), text[:1000], data)
