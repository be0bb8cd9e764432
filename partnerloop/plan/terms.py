"""A commission plan in plain words, for partners (pure).

Reads rules in their stored / API shape (`../shared/API.md`, "Plans in full"), so that the parts a
later issue adds to the engine (conditions, tiers, caps, active windows, bonuses) read here as soon
as a plan carries them. The engine decides with the first rule whose event, conditions and window
match: a later rule for the same event reads "Otherwise", and one that can never decide is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from partnerloop.kit.money import format_money, format_rate

_EVENT_NOUN = {"click": "click", "lead": "lead (a sign-up you refer)", "sale": "sale"}
_PERIOD = {"month": "this month", "quarter": "this quarter", "year": "this year", "lifetime": "in total"}
_PER_PERIOD = {"month": "per month", "quarter": "per quarter", "year": "per year", "lifetime": "in total"}
_OPERATOR = {
    "eq": "is",
    "neq": "is not",
    "in": "is",
    "not_in": "is not",
    "gt": "is over",
    "gte": "is at least",
    "lt": "is under",
    "lte": "is at most",
    "contains": "contains",
    "starts_with": "starts with",
}
_FIELD = {
    "product_id": "the product",
    "sale.amount": "the sale",
    "coupon_code": "the coupon code",
    "customer.country": "the customer's country",
    "partner.country": "your country",
    "partner.group": "your group",
}
_ATTRIBUTION = {
    "first_click": "the first partner whose link the visitor clicked keeps the customer",
    "last_click": "a later click on another partner's link takes the customer over",
    "linear": "when several partners sent the customer, the commission is shared equally",
    "time_decay": "when several partners sent the customer, the commission is shared, more to recent clicks",
    "position": "when several partners sent the customer, the first and last clicks share most of the commission",
}


@dataclass(frozen=True)
class ProgramTerms:
    """The program settings a partner should know besides the plan."""

    currency: str
    cookie_days: int
    attribution_model: str
    hold_days: int
    min_payout_amount: int


def _join_or(values: Sequence[str], word: str = "or") -> str:
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} {word} {values[-1]}"


def _value(field: str, value: Any, currency: str) -> str:
    if field == "sale.amount" and isinstance(value, int) and not isinstance(value, bool):
        return format_money(value, currency)
    if field.endswith("country") and isinstance(value, str):
        return value.upper()
    return str(value)


def condition_in_words(condition: Mapping[str, Any], currency: str, group_names: Mapping[str, str]) -> str:
    """{"field": "customer.country", "op": "eq", "value": "de"} -> "the customer's country is DE"."""
    field = str(condition.get("field", ""))
    op = str(condition.get("op", "eq"))
    value = condition.get("value")
    if field == "sale.type" and op in ("eq", "neq") and value in ("new", "recurring"):
        new = (value == "new") == (op == "eq")
        return "it is the customer's first payment" if new else "it is a renewal (not the first payment)"
    if field.startswith("customer.metadata."):
        subject = f"the customer's {field.removeprefix('customer.metadata.').replace('_', ' ')}"
    else:
        subject = _FIELD.get(field, field.replace("_", " ").replace(".", " "))
    values = value if isinstance(value, list) else [value]
    if field == "partner.group":
        values = [group_names.get(str(item), str(item)) for item in values]
    words = [_value(field, item, currency) for item in values]
    if op == "not_in":
        return f"{subject} is none of {_join_or(words)}" if len(words) > 1 else f"{subject} is not {_join_or(words)}"
    return f"{subject} {_OPERATOR.get(op, op)} {_join_or(words)}"


def _payments(duration: Mapping[str, Any] | None) -> tuple[str, str]:
    """Which payments of a customer earn, as (object, span)."""
    kind = (duration or {}).get("kind", "one_time")
    if kind == "lifetime":
        return "each payment", " for as long as the customer pays"
    if kind == "months":
        months = int((duration or {})["months"])
        span = "month" if months == 1 else f"{months} months"
        return "each payment", f" for the first {span} after the customer's first purchase"
    return "the customer's first payment", ""


def _short_reward(reward: Mapping[str, Any], currency: str) -> str:
    if reward.get("type") == "percent":
        return format_rate(int(reward["rate_bps"]))
    return format_money(int(reward["amount"]), currency)


def reward_in_words(
    reward: Mapping[str, Any], event: str, currency: str, duration: Mapping[str, Any] | None = None
) -> str:
    """ "20% of each payment for …", "2.00 USD for each lead (a sign-up you refer)"."""
    if event == "sale":
        payments, span = _payments(duration)
        word = "of" if reward.get("type") == "percent" else "for"
        return f"{_short_reward(reward, currency)} {word} {payments}{span}"
    return f"{_short_reward(reward, currency)} for each {_EVENT_NOUN.get(event, event)}"


_METRIC = {"sales_count": ("sale", "sales"), "leads_count": ("lead", "leads"), "clicks": ("click", "clicks")}


def _threshold(metric: str, amount: int, currency: str) -> str:
    if metric == "revenue":
        return f"your referred revenue reaches {format_money(amount, currency)}"
    singular, plural = _METRIC.get(metric, (metric.replace("_", " "), metric.replace("_", " ")))
    return f"you have made {amount} {singular if amount == 1 else plural}"


def tiers_in_words(tiers: Mapping[str, Any], currency: str) -> str:
    """ "20% to start, 30% once you have made 10 sales this month"."""
    metric = str(tiers.get("metric", "sales_count"))
    period = _PERIOD.get(str(tiers.get("period", "month")), str(tiers.get("period")))
    levels = sorted(tiers.get("levels", []), key=lambda level: int(level.get("min", 0)))
    parts = []
    for level in levels:
        rate = _short_reward(level["reward"], currency)
        minimum = int(level.get("min", 0))
        parts.append(f"{rate} to start" if minimum == 0 else f"{rate} once {_threshold(metric, minimum, currency)}")
    return f"{_join_or(parts, 'and')} {period}"


def _moment(text: str) -> str:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    day = f"{moment.day} {moment:%b %Y}"
    return day if (moment.hour, moment.minute) == (0, 0) else f"{day} {moment:%H:%M} UTC"


def active_in_words(active: Mapping[str, Any]) -> str:
    start, until = active.get("from"), active.get("until")
    if start and until:
        return f"from {_moment(start)} until {_moment(until)}"
    if start:
        return f"from {_moment(start)}"
    return f"until {_moment(until)}" if until else ""


def caps_in_words(caps: Mapping[str, Any], currency: str) -> list[str]:
    sentences = []
    if caps.get("per_customer_amount") is not None:
        sentences.append(f"At most {format_money(int(caps['per_customer_amount']), currency)} per customer.")
    if caps.get("per_period_amount") is not None and caps.get("period"):  # the engine caps a period only
        per = _PER_PERIOD.get(str(caps["period"]), "per period")
        sentences.append(f"At most {format_money(int(caps['per_period_amount']), currency)} {per}.")
    if caps.get("per_day_count") is not None:
        count = int(caps["per_day_count"])
        sentences.append(f"At most {count} paid click{'' if count == 1 else 's'} a day.")
    if caps.get("per_day_amount") is not None:
        sentences.append(f"At most {format_money(int(caps['per_day_amount']), currency)} from clicks a day.")
    return sentences


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def rule_in_words(
    rule: Mapping[str, Any], currency: str, *, otherwise: bool = False, group_names: Mapping[str, str] | None = None
) -> str:
    """One rule in a sentence or two, e.g. "You earn 20% of each payment for the first 12 months after the
    customer's first purchase."."""
    event = str(rule.get("event"))
    conditions = [condition_in_words(c, currency, group_names or {}) for c in rule.get("conditions") or []]
    tiers = rule.get("tiers")
    if tiers and event == "sale":
        payments, span = _payments(rule.get("duration"))
        what = f"a share of {payments}{span}: {tiers_in_words(tiers, currency)}"
    elif tiers:
        what = f"an amount for each {_EVENT_NOUN.get(event, event)}: {tiers_in_words(tiers, currency)}"
    else:
        what = reward_in_words(rule.get("reward") or {}, event, currency, rule.get("duration"))
    text = f"you earn {what}"
    if conditions:
        text = f"when {_join_or(conditions, 'and')}, {text}"
    window = active_in_words(rule.get("active") or {})
    if window:
        text = f"{window}, {text}"
    if otherwise:
        text = f"otherwise, {text}"
    sentence = " ".join([_sentence(text) + ".", *caps_in_words(rule.get("caps") or {}, currency)])
    return f"{rule['name']}: {sentence}" if rule.get("name") else sentence


def bonus_in_words(bonus: Mapping[str, Any], currency: str) -> str:
    """ "Bonus “Ten club”: 100.00 USD once a month, when you have made 10 sales this month."."""
    metric = str(bonus.get("metric", "sales_count"))
    period = str(bonus.get("period", "month"))
    once = {"month": "once a month", "quarter": "once a quarter", "year": "once a year"}.get(period, "once")
    name = f" “{bonus['name']}”" if bonus.get("name") else ""
    when = f"{_threshold(metric, int(bonus.get('threshold', 0)), currency)} {_PERIOD.get(period, '')}".rstrip()
    return f"Bonus{name}: {format_money(int(bonus['amount']), currency)} {once}, when {when}."


def _always_decides(rule: Mapping[str, Any]) -> bool:
    return not rule.get("conditions") and not rule.get("active")


def plan_in_words(
    rules: Sequence[Mapping[str, Any]],
    currency: str,
    *,
    bonuses: Sequence[Mapping[str, Any]] = (),
    group_names: Mapping[str, str] | None = None,
) -> list[str]:
    """Every rule that can decide, in order, then the bonuses; [] for a plan without rules."""
    lines: list[str] = []
    seen: dict[str, bool] = {}  # event -> an earlier rule for it always decides
    for rule in rules:
        event = str(rule.get("event"))
        if seen.get(event):
            continue  # never reached: an earlier rule for this event always decides
        lines.append(rule_in_words(rule, currency, otherwise=event in seen, group_names=group_names))
        seen[event] = _always_decides(rule)
    lines += [bonus_in_words(bonus, currency) for bonus in bonuses]
    return lines


def program_in_words(terms: ProgramTerms) -> list[str]:
    """Cookie window and attribution, hold period, minimum payout."""
    days = "1 day" if terms.cookie_days == 1 else f"{terms.cookie_days} days"
    attribution = _ATTRIBUTION.get(terms.attribution_model)
    credit = f"A visitor you send counts as yours for {days} after they click your link"
    lines = [f"{credit}; {attribution}." if attribution else f"{credit}."]
    if terms.hold_days > 0:
        hold = "1 day" if terms.hold_days == 1 else f"{terms.hold_days} days"
        lines.append(f"Commissions are approved {hold} after the sale, once the refund window has passed.")
    else:
        lines.append("Commissions are approved as soon as they are recorded.")
    if terms.min_payout_amount > 0:
        lines.append(
            f"You are paid once your approved earnings reach {format_money(terms.min_payout_amount, terms.currency)}."
        )
    else:
        lines.append("Approved earnings are paid in the next payout, whatever the amount.")
    return lines
