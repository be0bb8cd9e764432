"""Plans as forms: stored rules to form rows and back (pure). The engine's own validation then decides.

The form edits a rule's event, reward, duration, name and conditions. Tiers, caps and the active
window are kept as they are (shown as text); the API edits them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from partnerloop.kit.money import format_money
from partnerloop.manage.rules import amount_text, parse_amount, parse_percent_bps, percent_text
from partnerloop.plan.conditions import LIST_OPS, NUMBER_OPS, field_spec

EVENTS = (("sale", "Sale"), ("lead", "Lead"), ("click", "Click"))
REWARD_TYPES = (("percent", "Percent of the sale"), ("flat", "Fixed amount"))
DURATIONS = (("one_time", "First sale only"), ("months", "For N months"), ("lifetime", "Lifetime"))
OPERATORS = (
    ("eq", "is"),
    ("neq", "is not"),
    ("in", "is one of"),
    ("not_in", "is none of"),
    ("gt", ">"),
    ("gte", "≥"),
    ("lt", "<"),
    ("lte", "≤"),
    ("contains", "contains"),
    ("starts_with", "starts with"),
)
CONDITION_FIELDS = (
    "product_id",
    "coupon_code",
    "sale.amount",
    "sale.type",
    "sale.currency",
    "customer.country",
    "partner.group",
    "partner.country",
)
BLANK_CONDITIONS = 1  # empty condition rows offered under each rule


@dataclass
class ConditionRow:
    field: str = ""
    op: str = "eq"
    value: str = ""


@dataclass
class RuleRow:
    """One rule as the form shows it; `origin` is the stored rule's index (None for a new rule)."""

    origin: int | None
    event: str = "sale"
    reward: str = "percent"
    rate: str = ""
    amount: str = ""
    duration: str = "one_time"
    months: str = ""
    name: str = ""
    conditions: list[ConditionRow] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # the parts the form does not edit, as sentences


def _value_text(field_name: str, op: str, value: Any, currency: str) -> str:
    spec = field_spec(field_name)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if spec is not None and spec[0] == "amount" and isinstance(value, int):
        return amount_text(value, currency)
    return "" if value is None else str(value)


def _kept(rule: Mapping[str, Any], currency: str) -> list[str]:
    kept = []
    tiers = rule.get("tiers")
    if tiers:
        levels = ", ".join(
            f"from {level['min']}: {_reward_text(level['reward'], currency)}" for level in tiers.get("levels", [])
        )
        kept.append(f"Tiers by {tiers.get('metric')} per {tiers.get('period')}: {levels}")
    caps = rule.get("caps")
    if caps:
        parts = []
        if caps.get("per_customer_amount"):
            parts.append(f"{format_money(caps['per_customer_amount'], currency)} per customer")
        if caps.get("per_period_amount"):
            parts.append(f"{format_money(caps['per_period_amount'], currency)} per {caps.get('period')}")
        kept.append("Caps: " + ", ".join(parts))
    active = rule.get("active")
    if active:
        kept.append(f"Active from {active.get('from') or 'the start'} until {active.get('until') or 'further notice'}")
    return kept


def _reward_text(reward: Mapping[str, Any], currency: str) -> str:
    if reward.get("type") == "percent":
        return f"{percent_text(int(reward['rate_bps']))}%"
    return format_money(int(reward.get("amount", 0)), currency)


def rows_from_rules(stored: list[Mapping[str, Any]], currency: str) -> list[RuleRow]:
    rows = []
    for index, rule in enumerate(stored):
        reward = rule.get("reward", {})
        duration = rule.get("duration") or {"kind": "one_time"}
        rows.append(
            RuleRow(
                origin=index,
                event=str(rule.get("event", "sale")),
                reward=str(reward.get("type", "percent")),
                rate=percent_text(reward.get("rate_bps")) if reward.get("type") == "percent" else "",
                amount=amount_text(reward.get("amount"), currency) if reward.get("type") == "flat" else "",
                duration=str(duration.get("kind", "one_time")),
                months=str(duration.get("months", "")) if duration.get("kind") == "months" else "",
                name=str(rule.get("name") or ""),
                conditions=[
                    ConditionRow(
                        str(item.get("field", "")),
                        str(item.get("op", "eq")),
                        _value_text(item.get("field", ""), item.get("op", ""), item.get("value"), currency),
                    )
                    for item in rule.get("conditions") or []
                ],
                kept=_kept(rule, currency),
            )
        )
    return rows


def with_blanks(rows: list[RuleRow]) -> list[RuleRow]:
    """The rows plus an empty one to add a rule, each with empty condition rows to add conditions."""
    result = [*rows, RuleRow(origin=None, rate="")]
    for row in result:
        row.conditions = [*row.conditions, *(ConditionRow() for _ in range(BLANK_CONDITIONS))]
    return result


def _condition_value(field_name: str, op: str, text: str, currency: str) -> Any:
    spec = field_spec(field_name)
    kind = spec[0] if spec else "text"
    if op in LIST_OPS:
        items = [item.strip() for item in text.split(",") if item.strip()]
        return [parse_amount(item, currency) for item in items] if kind == "amount" else items
    if kind == "amount" or op in NUMBER_OPS:
        if kind == "amount":
            return parse_amount(text, currency)
        if re.fullmatch(r"-?\d+", text.strip()):
            return int(text.strip())
        raise ValueError(f"'{text}' is not a whole number.")
    return text.strip()


@dataclass
class ParsedPlan:
    name: str
    rules: list[dict[str, Any]]
    rows: list[RuleRow]  # what to show again when the plan is refused
    problems: list[str]


def rules_from_form(form: Mapping[str, str], stored: list[Mapping[str, Any]], currency: str) -> ParsedPlan:
    """The rules a submitted form describes, in order; rows left blank are skipped, `remove` drops a rule.

    Parts the form does not edit (tiers, caps, active) are carried over from the stored rule the row came from.
    """
    count = int(form.get("rule_count", "0") or 0) if str(form.get("rule_count", "0")).isdigit() else 0
    rules: list[dict[str, Any]] = []
    rows: list[RuleRow] = []
    problems: list[str] = []
    for index in range(min(count, 60)):
        prefix = f"rule-{index}-"

        def value(name: str, prefix: str = prefix) -> str:
            return str(form.get(prefix + name, "")).strip()

        origin_text = value("origin")
        origin = int(origin_text) if origin_text.isdigit() and int(origin_text) < len(stored) else None
        row = RuleRow(
            origin=origin,
            event=value("event") or "sale",
            reward=value("reward") or "percent",
            rate=value("rate"),
            amount=value("amount"),
            duration=value("duration") or "one_time",
            months=value("months"),
            name=value("name"),
            kept=_kept(stored[origin], currency) if origin is not None else [],
        )
        for position in range(21):
            cond_prefix = f"{prefix}cond-{position}-"
            field_name = str(form.get(cond_prefix + "field", "")).strip()
            if not field_name and not str(form.get(cond_prefix + "value", "")).strip():
                continue
            row.conditions.append(
                ConditionRow(
                    field_name,
                    str(form.get(cond_prefix + "op", "eq")),
                    str(form.get(cond_prefix + "value", "")).strip(),
                )
            )
        if value("remove"):
            continue
        if origin is None and not row.rate and not row.amount and not row.name:
            continue  # the empty row offered for a new rule
        rows.append(row)
        label = f"Rule {len(rows)}"
        rule: dict[str, Any] = dict(stored[origin]) if origin is not None else {}
        for part in ("reward", "duration", "conditions", "name"):
            rule.pop(part, None)
        rule["event"] = row.event
        if row.name:
            rule["name"] = row.name
        try:
            if row.reward == "percent":
                rule["reward"] = {"type": "percent", "rate_bps": parse_percent_bps(row.rate)}
            else:
                rule["reward"] = {"type": "flat", "amount": parse_amount(row.amount or "", currency)}
        except ValueError as error:
            problems.append(f"{label}: {error}")
        if row.event == "sale":
            if row.duration == "months":
                if not row.months.isdigit() or int(row.months) < 1:
                    problems.append(f"{label}: give the number of months (1 or more).")
                else:
                    rule["duration"] = {"kind": "months", "months": int(row.months)}
            else:
                rule["duration"] = {"kind": row.duration}
        conditions = []
        for condition in row.conditions:
            if not condition.field:
                problems.append(f"{label}: a condition needs a field.")
                continue
            try:
                conditions.append(
                    {
                        "field": condition.field,
                        "op": condition.op,
                        "value": _condition_value(condition.field, condition.op, condition.value, currency),
                    }
                )
            except ValueError as error:
                problems.append(f"{label}, condition on {condition.field}: {error}")
        if conditions:
            rule["conditions"] = conditions
        rules.append(rule)
    if not rules and not problems:
        problems.append("A plan needs at least one rule.")
    return ParsedPlan(name=str(form.get("name", "")).strip(), rules=rules, rows=rows, problems=problems)


_RULE_REF = re.compile(r"rules(?:\[(\d+)\]|\.(\d+))\.?")


def readable(message: str) -> str:
    """'rules[2].conditions[0]: …' / 'rules.2.reward…' -> 'Rule 3 › conditions[0]: …'."""
    return _RULE_REF.sub(lambda match: f"Rule {int(match.group(1) or match.group(2)) + 1} › ", message).replace(
        " › :", ":"
    )
