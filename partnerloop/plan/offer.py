"""The plan's standing offer in words, for the public application page: pure, table-tested."""

from __future__ import annotations

from partnerloop.kit.money import format_money, format_rate
from partnerloop.plan.schemas import FlatReward, Lifetime, Months, PercentReward, Rule


def _reward_words(reward: PercentReward | FlatReward, currency: str) -> str:
    return format_rate(reward.rate_bps) if isinstance(reward, PercentReward) else format_money(reward.amount, currency)


def _sale_words(rule: Rule, currency: str) -> str:
    reward = _reward_words(rule.reward, currency)
    if rule.tiers is not None:
        best = max((level.reward for level in rule.tiers.levels), key=_reward_key)
        if _reward_key(best) > _reward_key(rule.reward):
            reward += f" (up to {_reward_words(best, currency)} as your sales grow)"
    percent = isinstance(rule.reward, PercentReward)
    duration = rule.duration
    if isinstance(duration, Months):
        span = f"for {duration.months} month{'s' if duration.months != 1 else ''}"
    elif isinstance(duration, Lifetime):
        span = "for life"
    else:
        return f"{reward} {'of the first payment' if percent else 'for every new customer'}"
    return f"{reward} {'of every payment' if percent else 'for every payment'} {span}"


def _reward_key(reward: PercentReward | FlatReward) -> tuple[int, int]:
    return (0, reward.rate_bps) if isinstance(reward, PercentReward) else (1, reward.amount)


def offer_text(rules: tuple[Rule, ...] | list[Rule], currency: str) -> str | None:
    """The plan's standing offer in words for the public application page: its first sale rule and its
    first lead rule that hold for everyone, at any time ("20% of every payment for 12 months and 2.00 USD
    for every sign-up"); None when no such rule exists (campaigns and conditional rules are not an offer)."""
    standing = [rule for rule in rules if not rule.conditions and rule.active is None]
    sale = next((rule for rule in standing if rule.event == "sale"), None)
    lead = next((rule for rule in standing if rule.event == "lead"), None)
    parts = []
    if sale is not None:
        parts.append(_sale_words(sale, currency))
    if lead is not None:
        parts.append(f"{_reward_words(lead.reward, currency)} for every sign-up")
    return " and ".join(parts) if parts else None
