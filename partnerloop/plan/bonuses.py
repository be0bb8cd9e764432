"""Plan bonuses (pure): which of a plan's bonuses an event reaches, once per partner, bonus and period."""

from __future__ import annotations

from collections.abc import Container

from partnerloop.kit.money import format_money
from partnerloop.plan.rules import BonusEarnings, EventFacts, PlanTerms, event_volume, period_key, volume_text


def reached_bonuses(
    plan: PlanTerms | None, facts: EventFacts, program_currency: str, already_paid: Container[str] = ()
) -> list[BonusEarnings]:
    """The plan's bonuses whose metric, counting this event, has reached the threshold in its period.

    Each carries its key (plan, name, period): the caller records it at most once per partner, so
    returning a bonus again for a later event of the same period is harmless; keys in `already_paid`
    are left out.
    """
    if plan is None or not plan.bonuses:
        return []
    added = event_volume(facts.kind, facts.amount)
    found: list[BonusEarnings] = []
    for bonus in plan.bonuses:
        if bonus.metric not in added:
            continue
        value = facts.stats.get((bonus.metric, bonus.period), 0) + added[bonus.metric]
        if value < bonus.threshold:
            continue
        key = period_key(facts.occurred_at, bonus.period)
        bonus_key = f"{plan.id}:{bonus.name}:{key}"[:300]
        if bonus_key in already_paid:
            continue
        period_text = "in total" if bonus.period == "lifetime" else f"in {key}"
        threshold = volume_text(bonus.metric, bonus.threshold, program_currency)
        text = (
            f"Bonus '{bonus.name}' under {plan.name}: {format_money(bonus.amount, program_currency)} for reaching "
            f"{threshold} {period_text} ({volume_text(bonus.metric, value, program_currency)} with this {facts.kind})"
        )
        found.append(
            BonusEarnings(
                name=bonus.name,
                bonus_key=bonus_key,
                earnings_amount=bonus.amount,
                earnings_currency=program_currency,
                explanation=text[:1000],
                explanation_data={
                    "plan_id": plan.id,
                    "plan_name": plan.name,
                    "bonus": bonus.stored(),
                    "period_key": key,
                    "value": value,
                    "earnings_amount": bonus.amount,
                    "earnings_currency": program_currency,
                },
            )
        )
    return found
