"""Can the engine evaluate this plan? Checks over whole rules, each problem naming its rule (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from partnerloop.plan.conditions import condition_problem
from partnerloop.plan.schemas import Bonus, PercentReward, Rule


def _rule_problems(index: int, rule: Rule) -> list[str]:
    where = f"rules[{index}]"
    problems: list[str] = []
    for position, condition in enumerate(rule.conditions or []):
        problem = condition_problem(rule.event, condition.field, condition.op, condition.value)
        if problem is not None:
            problems.append(f"{where}.conditions[{position}]: {problem}")
    if rule.tiers is not None:
        levels = rule.tiers.levels
        for position, level in enumerate(levels):
            if rule.event != "sale" and isinstance(level.reward, PercentReward):
                problems.append(
                    f"{where}.tiers.levels[{position}].reward: a {rule.event} rule pays a flat amount, not a percent"
                )
            if position and level.min <= levels[position - 1].min:
                problems.append(
                    f"{where}.tiers.levels[{position}]: min {level.min} overlaps levels[{position - 1}].min "
                    f"{levels[position - 1].min} (tier minimums must increase)"
                )
    if rule.caps is not None:
        caps = rule.caps
        day_caps = caps.per_day_count is not None or caps.per_day_amount is not None
        if caps.per_customer_amount is None and caps.per_period_amount is None and not day_caps:
            problems.append(
                f"{where}.caps: give per_customer_amount or per_period_amount (on a click rule: or per_day_count "
                "or per_day_amount)"
            )
        if day_caps and rule.event != "click":
            problems.append(f"{where}.caps: per_day_count and per_day_amount apply to click rules only")
        if caps.per_period_amount is not None and caps.period is None:
            problems.append(f"{where}.caps: per_period_amount needs a period (month, quarter, year or lifetime)")
        if caps.period is not None and caps.per_period_amount is None:
            problems.append(f"{where}.caps: period applies to per_period_amount only")
        if caps.per_customer_amount is not None and rule.event == "click":
            problems.append(f"{where}.caps: a click has no customer to cap per_customer_amount by")
    if rule.active is not None:
        starts, until = rule.active.starts, rule.active.until
        if starts is None and until is None:
            problems.append(f"{where}.active: give from, until or both")
        elif starts is not None and until is not None and starts >= until:
            problems.append(f"{where}.active: from {starts.isoformat()} is not before until {until.isoformat()}")
    return problems


def _bonus_problems(bonuses: Sequence[Bonus]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, bonus in enumerate(bonuses):
        key = bonus.name.lower()
        if key in seen:
            problems.append(f"bonuses[{index}]: name '{bonus.name}' is used by bonuses[{seen[key]}] already")
        seen.setdefault(key, index)
    return problems


def plan_problems(rules: Sequence[Rule], bonuses: Sequence[Bonus] = ()) -> list[str]:
    """Every reason the engine could not evaluate the plan, each naming where ([] when it can)."""
    problems: list[str] = []
    for index, rule in enumerate(rules):
        problems += _rule_problems(index, rule)
    return problems + _bonus_problems(bonuses)
