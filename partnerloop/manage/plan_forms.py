"""Plans as forms: stored rules to form rows and back (pure). The engine's own validation then decides.

The form edits every part of a rule (event, reward, duration, name, conditions, tiers, caps, the active
window) and the plan's bonuses; the parts beside the reward are mapped in plan_forms_parts.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from partnerloop.manage import plan_forms_parts as parts
from partnerloop.manage.plan_forms_parts import BonusRow, CapsRow, TierRow, TiersRow, WindowRow
from partnerloop.manage.rules import amount_text, parse_amount
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
BLANK_TIERS = 2  # empty tier levels under a rule without tiers (one under a rule with some)
BLANK_BONUSES = 1
NEW_SALE_MONTHS = "12"  # a new sale rule pays recurring for 12 months, as Rewardful and FirstPromoter start
MAX_RULE_ROWS = 60
MAX_CONDITION_ROWS = 21


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
    tiers: TiersRow = field(default_factory=TiersRow)
    caps: CapsRow = field(default_factory=CapsRow)
    window: WindowRow = field(default_factory=WindowRow)

    def tier_count(self) -> int:
        return sum(1 for level in self.tiers.levels if not level.is_empty())

    def has_caps(self) -> bool:
        return self.caps != CapsRow(period=self.caps.period)

    def has_content(self) -> bool:
        """Whether the manager wrote anything in the row (the months a new rule starts with do not count)."""
        return bool(
            self.rate or self.amount or self.name or self.tier_count() or self.has_caps() or self.window != WindowRow()
        )


def _value_text(field_name: str, op: str, value: Any, currency: str) -> str:
    spec = field_spec(field_name)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if spec is not None and spec[0] == "amount" and isinstance(value, int):
        return amount_text(value, currency)
    return "" if value is None else str(value)


def _row_from_rule(index: int, rule: Mapping[str, Any], currency: str) -> RuleRow:
    kind, rate, amount = parts.reward_fields(rule.get("reward") or {}, currency)
    duration = rule.get("duration") or {"kind": "one_time"}
    return RuleRow(
        origin=index,
        event=str(rule.get("event", "sale")),
        reward=kind,
        rate=rate,
        amount=amount,
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
        tiers=parts.tiers_row(rule.get("tiers"), currency),
        caps=parts.caps_row(rule.get("caps"), currency),
        window=parts.window_row(rule.get("active")),
    )


def rows_from_rules(stored: list[Mapping[str, Any]], currency: str) -> list[RuleRow]:
    """The stored rules as form rows, in order."""
    return [_row_from_rule(index, rule, currency) for index, rule in enumerate(stored)]


def new_rule_row() -> RuleRow:
    """The empty row offered to add a rule: a sale rule, recurring for 12 months."""
    return RuleRow(origin=None, duration="months", months=NEW_SALE_MONTHS)


def with_blanks(rows: list[RuleRow]) -> list[RuleRow]:
    """The rows plus an empty one to add a rule, each with empty condition and tier rows to add some."""
    result = [*rows, new_rule_row()]
    for row in result:
        row.conditions = [*row.conditions, *(ConditionRow() for _ in range(BLANK_CONDITIONS))]
        blanks = BLANK_TIERS if not row.tiers.levels else 1
        row.tiers.levels = [*row.tiers.levels, *(TierRow() for _ in range(blanks))]
    return result


def bonuses_with_blanks(rows: list[BonusRow]) -> list[BonusRow]:
    return [*rows, *(BonusRow() for _ in range(BLANK_BONUSES))]


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
    bonuses: list[dict[str, Any]] | None = None  # None: the form has no bonus section, the plan's stay
    bonus_rows: list[BonusRow] = field(default_factory=list)


@dataclass
class _PostedRule:
    row: RuleRow
    removed: bool
    edits_parts: bool  # the row carries tiers, caps and window (a page from before they were edited: no)


def _posted_rule(form: Mapping[str, str], index: int, stored: list[Mapping[str, Any]]) -> _PostedRule:
    prefix = f"rule-{index}-"

    def value(name: str) -> str:
        return str(form.get(prefix + name, "")).strip()

    origin_text = value("origin")
    origin = int(origin_text) if origin_text.isdigit() and int(origin_text) < len(stored) else None
    duration = value("duration") or ("months" if origin is None else "one_time")
    months = value("months") or (NEW_SALE_MONTHS if origin is None and duration == "months" else "")
    row = RuleRow(
        origin=origin,
        event=value("event") or "sale",
        reward=value("reward") or "percent",
        rate=value("rate"),
        amount=value("amount"),
        duration=duration,
        months=months,
        name=value("name"),
        tiers=parts.tiers_row_from_form(form, prefix),
        caps=parts.caps_row_from_form(form, prefix),
        window=parts.window_row_from_form(form, prefix),
    )
    for position in range(MAX_CONDITION_ROWS):
        at = f"{prefix}cond-{position}-"
        field_name, text = str(form.get(at + "field", "")).strip(), str(form.get(at + "value", "")).strip()
        if field_name or text:
            row.conditions.append(ConditionRow(field_name, str(form.get(at + "op", "eq")), text))
    return _PostedRule(row, removed=bool(value("remove")), edits_parts=bool(value("parts")) or origin is None)


def _conditions(row: RuleRow, label: str, currency: str) -> tuple[list[dict[str, Any]], list[str]]:
    conditions: list[dict[str, Any]] = []
    problems: list[str] = []
    for condition in row.conditions:
        if not condition.field:
            problems.append(f"{label}: a condition needs a field.")
            continue
        try:
            value = _condition_value(condition.field, condition.op, condition.value, currency)
        except ValueError as error:
            problems.append(f"{label}, condition on {condition.field}: {error}")
            continue
        conditions.append({"field": condition.field, "op": condition.op, "value": value})
    return conditions, problems


def _duration(row: RuleRow, label: str) -> tuple[dict[str, Any] | None, list[str]]:
    """A sale rule's duration; None for a lead or click rule (the sale-only fields are ignored)."""
    if row.event != "sale":
        return None, []
    if row.duration != "months":
        return {"kind": row.duration}, []
    if not row.months.isdigit() or int(row.months) < 1:
        return None, [f"{label}: give the number of months (1 or more)."]
    return {"kind": "months", "months": int(row.months)}, []


def _rule_from_row(
    posted: _PostedRule, stored: Mapping[str, Any] | None, label: str, currency: str
) -> tuple[dict[str, Any], list[str]]:
    """The stored rule a row describes; a stored rule's parts the row does not carry are kept."""
    row = posted.row
    rule: dict[str, Any] = {"event": row.event}
    if row.name:
        rule["name"] = row.name
    problems: list[str] = []
    try:
        rule["reward"] = parts.reward_from(row.event, row.reward, row.rate, row.amount, currency)
    except ValueError as error:
        problems.append(f"{label}: {error}")
    duration, found = _duration(row, label)
    problems += found
    conditions, found = _conditions(row, label, currency)
    problems += found
    extras: dict[str, tuple[Any, list[str]]] = {
        "duration": (duration, []),
        "conditions": (conditions or None, []),
        "tiers": parts.tiers_from_row(row.tiers, row.event, label, currency),
        "caps": parts.caps_from_row(row.caps, row.event, label, currency),
        "active": parts.window_from_row(row.window, label),
    }
    for key, (value, found) in extras.items():
        if key in ("tiers", "caps", "active") and not posted.edits_parts:
            value, found = (stored or {}).get(key), []
        problems += found
        if value is not None:
            rule[key] = value
    return rule, problems


def rules_from_form(form: Mapping[str, str], stored: list[Mapping[str, Any]], currency: str) -> ParsedPlan:
    """The plan a submitted form describes: its rules in order (rows left blank are skipped, `remove` drops
    a rule) and its bonuses, with every problem met, each naming the rule or bonus."""
    count_text = str(form.get("rule_count", "0"))
    count = int(count_text) if count_text.isdigit() else 0
    rules: list[dict[str, Any]] = []
    rows: list[RuleRow] = []
    problems: list[str] = []
    for index in range(min(count, MAX_RULE_ROWS)):
        posted = _posted_rule(form, index, stored)
        if posted.removed or (posted.row.origin is None and not posted.row.has_content()):
            continue  # a removed rule, or the empty row offered for a new one
        rows.append(posted.row)
        origin = posted.row.origin
        rule, found = _rule_from_row(
            posted, stored[origin] if origin is not None else None, f"Rule {len(rows)}", currency
        )
        rules.append(rule)
        problems += found
    if not rules and not problems:
        problems.append("A plan needs at least one rule.")
    bonus_rows = parts.bonus_rows_from_form(form)
    bonuses, found = parts.bonuses_from_rows(bonus_rows, currency) if bonus_rows is not None else (None, [])
    return ParsedPlan(
        name=str(form.get("name", "")).strip(),
        rules=rules,
        rows=rows,
        problems=problems + found,
        bonuses=bonuses,
        bonus_rows=bonus_rows or [],
    )


_RULE_REF = re.compile(r"rules(?:\[(\d+)\]|\.(\d+))\.?")
_BONUS_REF = re.compile(r"bonuses(?:\[(\d+)\]|\.(\d+))\.?")
_TIER_MIN_REF = re.compile(r"(?<!\.)levels\[(\d+)\]\.min")
_TIER_REF = re.compile(r"tiers\.levels(?:\[(\d+)\]|\.(\d+))")


def _numbered(word: str) -> Callable[[re.Match[str]], str]:
    def name(match: re.Match[str]) -> str:
        number = int(match.group(1) or match.group(2)) + 1
        return f"{word} {number} › " if match.group(0).endswith(".") else f"{word} {number}"

    return name


def readable(message: str) -> str:
    """'rules[2].conditions[0]: …' / 'rules.2.reward…' -> 'Rule 3 › conditions[0]: …'; 'tiers.levels[1]' ->
    'tier 2'; 'bonuses[0]: …' -> 'Bonus 1: …'."""
    message = _TIER_MIN_REF.sub(lambda match: f"tier {int(match.group(1)) + 1}'s min", message)
    message = _TIER_REF.sub(lambda match: f"tier {int(match.group(1) or match.group(2)) + 1}", message)
    return _RULE_REF.sub(_numbered("Rule"), _BONUS_REF.sub(_numbered("Bonus"), message))
