"""Engagement decisions as pure functions: tier rules and moves, leaderboards, audiences, review summaries.

No session, no clock: callers pass `now` and the facts they read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from partnerloop.kit.money import format_money
from partnerloop.kit.ratios import roi_of
from partnerloop.kit.time import as_utc
from partnerloop.plan.rules import period_key, period_start


class Metric(StrEnum):
    REVENUE = "revenue"
    SALES = "sales"
    LEADS = "leads"
    NEW_CUSTOMERS = "new_customers"

    @property
    def is_money(self) -> bool:
        return self is Metric.REVENUE

    @property
    def label(self) -> str:
        return {"revenue": "revenue", "sales": "sales", "leads": "leads", "new_customers": "new customers"}[self.value]


class Period(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


METRICS = tuple(metric.value for metric in Metric)
# Tier rules take one more metric: the share (percent) of a partner's customers still paying `months` after
# their first payment. It is a ratio, not a count over a window, so leaderboards and campaigns do not rank by it.
RETENTION = "retention"
TIER_METRICS = (*METRICS, RETENTION)
RETENTION_MONTHS = 3
PERIODS = tuple(period.value for period in Period)
INACTIVE_DAYS = 30


# ------------------------------------------------------------------------------------- periods


def period_window(moment: datetime, period: str) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month, quarter or year holding `moment` (UTC)."""
    start = period_start(moment, period)
    assert start is not None, f"{period} has no window"
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    total = start.month - 1 + months
    end = datetime(start.year + total // 12, total % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_window(moment: datetime, period: str) -> tuple[datetime, datetime]:
    """The complete period before the one holding `moment`."""
    start, _end = period_window(moment, period)
    return period_window(start - timedelta(seconds=1), period)


def month_window(month: str) -> tuple[datetime, datetime]:
    """'2026-11' -> [2026-11-01, 2026-12-01); raises ValueError for anything else."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise ValueError(f"'{month}' is not a month written YYYY-MM.")
    year, number = int(month[:4]), int(month[5:])
    return period_window(datetime(year, number, 1, tzinfo=UTC), "month")


def previous_month(month: str) -> str:
    start, _end = month_window(month)
    return period_key(start - timedelta(days=1), "month")


def month_of(moment: datetime) -> str:
    return period_key(moment, "month")


def month_name(month: str) -> str:
    start, _end = month_window(month)
    return start.strftime("%B %Y")


# ---------------------------------------------------------------------------------------- tiers


@dataclass(frozen=True)
class TierRule:
    metric: str
    period: str
    threshold: int
    to_group_id: str
    months: int = RETENTION_MONTHS  # retention only: still paying this many months after the first payment

    @property
    def key(self) -> str:
        """The name of the rule's figure in TierFacts.values: retention over 3 and 6 months are two figures."""
        return f"{RETENTION}:{self.months}" if self.metric == RETENTION else self.metric


@dataclass(frozen=True)
class Tier:
    group_id: str
    name: str
    rank: int | None
    promotion: TierRule | None = None
    demotion: TierRule | None = None


def rule_problems(field: str, rule: Mapping[str, object] | None, group_ids: Iterable[str]) -> list[tuple[str, str]]:
    """What is wrong with one promotion or demotion rule, as (field path, sentence) pairs."""
    if rule is None:
        return []
    problems: list[tuple[str, str]] = []
    if rule.get("metric") not in TIER_METRICS:
        problems.append(
            (f"{field}.metric", f"metric must be one of {', '.join(TIER_METRICS)} (got {rule.get('metric')!r}).")
        )
    problems += _retention_problems(field, rule)
    if rule.get("period") not in PERIODS:
        problems.append(
            (f"{field}.period", f"period must be one of {', '.join(PERIODS)} (got {rule.get('period')!r}).")
        )
    threshold = rule.get("threshold")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
        problems.append((f"{field}.threshold", f"threshold must be a whole number above 0 (got {threshold!r})."))
    if rule.get("to_group_id") not in set(group_ids):
        problems.append((f"{field}.to_group_id", f"No group {rule.get('to_group_id')!r} in this program."))
    return problems


def _retention_problems(field: str, rule: Mapping[str, object]) -> list[tuple[str, str]]:
    months, threshold = rule.get("months"), rule.get("threshold")
    if rule.get("metric") != RETENTION:
        if months is not None:
            return [(f"{field}.months", "months applies to the retention metric only.")]
        return []
    problems: list[tuple[str, str]] = []
    if months is not None and (not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 36):
        problems.append((f"{field}.months", f"months must be a whole number from 1 to 36 (got {months!r})."))
    if isinstance(threshold, int) and threshold > 100:
        problems.append((f"{field}.threshold", f"a retention threshold is a percentage, 1 to 100 (got {threshold})."))
    return problems


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (the month's last day when it is shorter: Jan 31 + 1 = Feb 28)."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (following - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def retention_percent(spans: Iterable[tuple[datetime, datetime]], months: int, as_of: datetime) -> int | None:
    """Of the customers whose first payment was at least `months` before `as_of`, the percent (rounded down)
    who paid again `months` or more after their first payment; None when no customer is that old yet.
    `spans` holds each customer's (first, last) payment before `as_of`."""
    old_enough = retained = 0
    for first, last in spans:
        if add_months(as_utc(first), months) <= as_utc(as_of):
            old_enough += 1
            retained += add_months(as_utc(first), months) <= as_utc(last)
    return retained * 100 // old_enough if old_enough else None


def ladder_problems(tiers: Sequence[Tier]) -> list[tuple[str, str]]:
    """Problems of the program's tiers taken together: moves to oneself, cycles, moves the wrong way by rank."""
    by_id = {tier.group_id: tier for tier in tiers}
    problems: list[tuple[str, str]] = []
    for direction in ("promotion", "demotion"):
        for tier in tiers:
            rule: TierRule | None = getattr(tier, direction)
            if rule is None:
                continue
            target = by_id.get(rule.to_group_id)
            if rule.to_group_id == tier.group_id:
                problems.append((f"{direction}.to_group_id", f"'{tier.name}' cannot move partners to itself."))
                continue
            if target is not None and tier.rank is not None and target.rank is not None:
                wrong = target.rank <= tier.rank if direction == "promotion" else target.rank >= tier.rank
                if wrong:
                    way = "higher" if direction == "promotion" else "lower"
                    problems.append(
                        (f"{direction}.to_group_id", f"A {direction} from '{tier.name}' (rank {tier.rank}) must go to a "
                         f"{way} rank; '{target.name}' has rank {target.rank}.")
                    )  # fmt: skip
        cycle = _cycle(by_id, direction)
        if cycle:
            names = " -> ".join(by_id[group_id].name for group_id in cycle)
            problems.append((f"{direction}.to_group_id", f"The {direction} rules go round in a cycle: {names}."))
    return problems


def _cycle(by_id: Mapping[str, Tier], direction: str) -> list[str]:
    for start in by_id:
        seen: list[str] = []
        current: str | None = start
        while current is not None and current in by_id:
            if current in seen:
                return [*seen[seen.index(current) :], current]
            seen.append(current)
            rule: TierRule | None = getattr(by_id[current], direction)
            current = rule.to_group_id if rule is not None else None
    return []


@dataclass(frozen=True)
class TierFacts:
    """What the decision needs about one partner: their tier, since when, and their metric values."""

    partner_id: str
    group_id: str
    in_tier_since: datetime
    # (metric, "current" | "previous", period) -> value; revenue in the program's minor units
    values: Mapping[tuple[str, str, str], int]


@dataclass(frozen=True)
class TierDecision:
    partner_id: str
    from_group_id: str
    to_group_id: str
    direction: str  # promotion | demotion
    metric: str
    period: str
    period_key: str
    value: int
    threshold: int
    reason: str


def counted(value: int, singular: str, plural: str | None = None) -> str:
    """'1 sale', '12 sales'."""
    return f"{value} {singular if value == 1 else plural or singular + 's'}"


def metric_text(metric: str, value: int, currency: str, months: int = RETENTION_MONTHS) -> str:
    """'12 sales', '1 new customer', '1200.00 USD of revenue', '80% of customers still paying after 3 months'."""
    if metric == RETENTION:
        return f"{value}% of customers still paying after {counted(months, 'month')}"
    if Metric(metric).is_money:
        return f"{format_money(value, currency)} of revenue"
    singular = {"sales": "sale", "leads": "lead", "new_customers": "new customer"}[metric]
    return counted(value, singular)


def _period_words(period: str, key: str, current: bool) -> str:
    return f"{'this' if current else 'last'} {period} ({key})"


def decide_move(tiers: Mapping[str, Tier], facts: TierFacts, now: datetime, currency: str) -> TierDecision | None:
    """Promote when the metric of the period so far reaches the promotion threshold; else demote when the
    last complete period stayed below the demotion threshold and the partner was in the tier all of it
    (a partner who joined the tier during or after that period is in their grace period). None: stay."""
    tier = tiers.get(facts.group_id)
    if tier is None:
        return None
    now = as_utc(now)
    promotion = tier.promotion
    if promotion is not None and promotion.to_group_id in tiers:
        value = facts.values.get((promotion.key, "current", promotion.period), 0)
        if value >= promotion.threshold:
            key = period_key(now, promotion.period)
            target = tiers[promotion.to_group_id].name
            reason = (
                f"Promoted to {target}: {metric_text(promotion.metric, value, currency, promotion.months)} "
                f"{_period_words(promotion.period, key, True)} reached the threshold of "
                f"{metric_text(promotion.metric, promotion.threshold, currency, promotion.months)}."
            )
            return TierDecision(
                facts.partner_id, tier.group_id, promotion.to_group_id, "promotion", promotion.metric,
                promotion.period, key, value, promotion.threshold, reason,
            )  # fmt: skip
    demotion = tier.demotion
    if demotion is not None and demotion.to_group_id in tiers:
        start, _end = previous_window(now, demotion.period)
        if as_utc(facts.in_tier_since) > start:
            return None  # grace: not a full period in this tier yet
        figure = (demotion.key, "previous", demotion.period)
        if demotion.metric == RETENTION and figure not in facts.values:
            return None  # no customer old enough to judge retention by: no demotion for it
        value = facts.values.get(figure, 0)
        if value < demotion.threshold:
            key = period_key(start, demotion.period)
            target = tiers[demotion.to_group_id].name
            reason = (
                f"Moved to {target}: {metric_text(demotion.metric, value, currency, demotion.months)} "
                f"{_period_words(demotion.period, key, False)}, below the "
                f"{metric_text(demotion.metric, demotion.threshold, currency, demotion.months)} that {tier.name} asks for."
            )
            return TierDecision(
                facts.partner_id, tier.group_id, demotion.to_group_id, "demotion", demotion.metric,
                demotion.period, key, value, demotion.threshold, reason,
            )  # fmt: skip
    return None


def decide_moves(tiers: Mapping[str, Tier], facts: TierFacts, now: datetime, currency: str) -> list[TierDecision]:
    """Every move at `now`, in order: a partner far above several thresholds climbs several tiers at once.
    A partner who just moved is in their new tier since `now`, so a promotion is never undone by a demotion."""
    moves: list[TierDecision] = []
    current = facts
    for _ in range(len(tiers)):
        decision = decide_move(tiers, current, now, currency)
        if decision is None or (decision.direction == "demotion" and moves):
            break
        moves.append(decision)
        if decision.direction == "demotion":
            break
        current = TierFacts(current.partner_id, decision.to_group_id, now, current.values)
    return moves


@dataclass(frozen=True)
class TierProgress:
    tier_name: str
    next_tier_name: str | None
    metric: str | None
    period: str | None
    value: int
    threshold: int
    percent: int  # 0..100


def tier_progress(
    tiers: Mapping[str, Tier], group_id: str, values: Mapping[tuple[str, str, str], int]
) -> TierProgress | None:
    """How far the partner is from the next tier's promotion threshold this period."""
    tier = tiers.get(group_id)
    if tier is None:
        return None
    promotion = tier.promotion
    if promotion is None or promotion.to_group_id not in tiers:
        return TierProgress(tier.name, None, None, None, 0, 0, 100)
    value = values.get((promotion.key, "current", promotion.period), 0)
    percent = min(100, max(0, value * 100 // promotion.threshold))
    return TierProgress(
        tier.name, tiers[promotion.to_group_id].name, promotion.metric, promotion.period, value,
        promotion.threshold, percent,
    )  # fmt: skip


# ---------------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class Standing:
    rank: int
    partner_id: str
    value: int
    label: str
    is_you: bool


def rank_partners(values: Mapping[str, int]) -> list[tuple[int, str, int]]:
    """(rank, partner_id, value), best first; equal values share a rank (1, 1, 3); zero values are left out."""
    ordered = sorted(
        ((value, partner_id) for partner_id, value in values.items() if value > 0), key=lambda row: (-row[0], row[1])
    )
    ranked: list[tuple[int, str, int]] = []
    for position, (value, partner_id) in enumerate(ordered, start=1):
        rank = ranked[-1][0] if ranked and ranked[-1][2] == value else position
        ranked.append((rank, partner_id, value))
    return ranked


def standings_for_partner(
    ranked: Sequence[tuple[int, str, int]],
    viewer_id: str,
    viewer_name: str,
    display_names: Mapping[str, str | None],
) -> list[Standing]:
    """The board as a partner sees it: their own row by name, others by their chosen display name or
    'Partner #<rank>' (never their real name or email)."""
    rows: list[Standing] = []
    for rank, partner_id, value in ranked:
        if partner_id == viewer_id:
            rows.append(Standing(rank, partner_id, value, f"{viewer_name} (you)", True))
        else:
            rows.append(Standing(rank, partner_id, value, display_names.get(partner_id) or f"Partner #{rank}", False))
    return rows


# ------------------------------------------------------------------------------------- audience


class AudienceKind(StrEnum):
    ALL = "all"
    GROUPS = "groups"
    TIERS = "tiers"
    INACTIVE = "inactive"  # no sale in the last INACTIVE_DAYS days


@dataclass(frozen=True)
class Member:
    partner_id: str
    status: str
    group_id: str | None
    last_sale_at: datetime | None
    newsletter_opt_out: bool


def in_audience(member: Member, kind: str, group_ids: frozenset[str], now: datetime) -> bool:
    """Only approved partners are in any audience (never banned, pending, rejected or deactivated ones)."""
    if member.status != "approved":
        return False
    if kind == AudienceKind.ALL:
        return True
    if kind in (AudienceKind.GROUPS, AudienceKind.TIERS):
        return member.group_id in group_ids
    if kind == AudienceKind.INACTIVE:
        return member.last_sale_at is None or as_utc(member.last_sale_at) < as_utc(now) - timedelta(days=INACTIVE_DAYS)
    return False


def should_email(member: Member) -> bool:
    """An announcement email goes to approved partners who did not turn newsletters off."""
    return member.status == "approved" and not member.newsletter_opt_out


# --------------------------------------------------------------------------------------- review

FIGURES = ("clicks", "leads", "sales", "new_customers", "revenue_amount", "commissions_amount")


def _trend(name: str, now_value: int, before_value: int, month: str, before: str, money: str | None) -> str:
    shown_now = format_money(now_value, money) if money else str(now_value)
    shown_before = format_money(before_value, money) if money else str(before_value)
    if now_value > before_value:
        return f"{name} rose from {shown_before} in {before} to {shown_now} in {month}"
    if now_value < before_value:
        return f"{name} fell from {shown_before} in {before} to {shown_now} in {month}"
    return f"{name} held at {shown_now}, as in {before}"


def review_summary(month: str, figures: Mapping[str, int], previous: Mapping[str, int], currency: str) -> str:
    """Two or three sentences made only of the figures (every number in them is one of the figures)."""
    this, before = month_name(month), month_name(previous_month(month))
    get = figures.get
    first = (
        f"In {this} you had {counted(get('clicks', 0), 'click')}, {counted(get('leads', 0), 'lead')} and "
        f"{counted(get('sales', 0), 'sale')} "
        f"worth {format_money(get('revenue_amount', 0), currency)}, earning "
        f"{format_money(get('commissions_amount', 0), currency)}."
    )
    revenue = _trend("Revenue", get("revenue_amount", 0), previous.get("revenue_amount", 0), this, before, currency)
    sales = _trend("sales", get("sales", 0), previous.get("sales", 0), this, before, None)
    second = f"{revenue}, and {sales}."
    if get("new_customers", 0):
        buyers = counted(get("new_customers", 0), "customer")
        return f"{first} {second} {buyers} bought for the first time."
    return f"{first} {second}"


MONEY_GOAL_METRICS = ("revenue", "net_revenue")


def _goal_value(value: object, metric: str, currency: str) -> str:
    if value is None:
        return "–"
    if metric in MONEY_GOAL_METRICS and isinstance(value, int | float):
        return format_money(int(value), currency)
    return str(value)


def goals_sentence(goals: Sequence[Mapping[str, object]], currency: str) -> str:
    """One sentence of the month's goals, made only of their figures ('' without goals):
    'Goals: "Q4 sales" 8 of 10 (80%); "Revenue" 1200.00 USD of 1000.00 USD (120%), reached.'"""
    if not goals:
        return ""
    parts = []
    for goal in goals:
        metric = str(goal.get("metric"))
        share = f" ({goal['percent']}%)" if goal.get("percent") is not None else ""
        parts.append(
            f'"{goal.get("name")}" {_goal_value(goal.get("current"), metric, currency)} of '
            f"{_goal_value(goal.get('target'), metric, currency)}{share}" + (", reached" if goal.get("reached") else "")
        )
    return f"{'Goal' if len(goals) == 1 else 'Goals'}: " + "; ".join(parts) + "."


def review_month_due(now: datetime) -> str:
    """The month a monthly review job running at `now` reviews: the one before."""
    first = date(now.year, now.month, 1)
    return month_of(datetime(first.year, first.month, 1, tzinfo=UTC) - timedelta(days=1))


@dataclass(frozen=True)
class Mover:
    partner_id: str
    name: str
    revenue_amount: int
    previous_revenue_amount: int

    @property
    def change_amount(self) -> int:
        return self.revenue_amount - self.previous_revenue_amount


@dataclass(frozen=True)
class ProgramMonth:
    """The program's own review of a month, from its partners' reviews."""

    revenue_amount: int
    previous_revenue_amount: int
    commissions_amount: int
    previous_commissions_amount: int
    roi: (
        float | None
    )  # kit/ratios.roi_of (as report/metrics.py): (net revenue − commissions) ÷ commissions; None without commissions
    top_movers: list[Mover]  # biggest revenue gains first
    went_quiet: list[Mover]  # sold the month before, nothing this month
    active_partners: int  # with a sale this month


def program_month(rows: Sequence[tuple[str, str, Mapping[str, int], Mapping[str, int]]], top: int = 5) -> ProgramMonth:
    """rows: (partner_id, name, figures, previous) of every partner's review of the month."""
    movers = [
        Mover(pid, name, int(figures.get("revenue_amount", 0)), int(previous.get("revenue_amount", 0)))
        for pid, name, figures, previous in rows
    ]
    revenue = sum(m.revenue_amount for m in movers)
    commissions = sum(int(figures.get("commissions_amount", 0)) for _p, _n, figures, _prev in rows)
    gains = sorted((m for m in movers if m.change_amount > 0), key=lambda m: (-m.change_amount, m.name))
    quiet = sorted(
        (m for (_p, _n, figures, previous), m in zip(rows, movers, strict=True)
         if int(previous.get("sales", 0)) > 0 and int(figures.get("sales", 0)) == 0),
        key=lambda m: (-m.previous_revenue_amount, m.name),
    )  # fmt: skip
    return ProgramMonth(
        revenue_amount=revenue,
        previous_revenue_amount=sum(m.previous_revenue_amount for m in movers),
        commissions_amount=commissions,
        previous_commissions_amount=sum(int(prev.get("commissions_amount", 0)) for _p, _n, _f, prev in rows),
        roi=roi_of(revenue, commissions) if commissions > 0 else None,
        top_movers=gains[:top],
        went_quiet=quiet,
        active_partners=sum(1 for _p, _n, figures, _prev in rows if int(figures.get("sales", 0)) > 0),
    )
