"""SMART goals: what a goal may say, its target, and its progress with a forecast. Pure functions.

Three kinds of metric move differently through a goal's window:

- sums (new customers, revenue, leads, sales, clicks) grow with time: the forecast extrapolates the
  trend so far linearly to the end (current × window ÷ elapsed), and the goal is reached as soon as
  the sum reaches the target;
- distinct counts (active partners) grow but do not scale with time: the forecast is the count so
  far, and it is reached as soon as the count reaches the target;
- rates (conversion rate, lead-to-sale rate) are levels: the forecast is the rate so far, and the goal
  is reached when the window has ended at or above the target (a rate can fall again before the end).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from partnerloop.report.rules import MAX_WINDOW_DAYS

SUMS = ("new_customers", "revenue", "net_revenue", "leads", "sales", "clicks")
DISTINCT = ("active_partners",)
RATES = ("conversion_rate", "lead_to_sale_rate")
GOAL_METRICS = (*SUMS, *DISTINCT, *RATES)
MAX_RELATIVE_PCT = Decimal(10_000)
PLACES = 4

Problem = tuple[str, str]  # (field, sentence)


@dataclass(frozen=True)
class Target:
    """Absolute (`value`) or relative to the baseline (`relative_pct`)."""

    value: Decimal | None = None
    relative_pct: Decimal | None = None

    @property
    def is_relative(self) -> bool:
        return self.relative_pct is not None


def _decimal(raw: object) -> Decimal | None:
    if isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def parse_target(metric: str, raw: object) -> Target | Problem:
    """The goal's target from the request (a number, or {"relative_pct": n}), or the problem."""
    if metric not in GOAL_METRICS:
        return "metric", f"Unknown goal metric '{metric}'; one of: {', '.join(GOAL_METRICS)}."
    if isinstance(raw, dict):
        if set(raw) != {"relative_pct"}:
            return "target", 'A relative target is {"relative_pct": <percent>}, e.g. {"relative_pct": 25}.'
        pct = _decimal(raw["relative_pct"])
        if pct is None:
            return "target.relative_pct", "relative_pct must be a number."
        if pct <= 0:
            return "target.relative_pct", "relative_pct must be above 0 (a goal is an increase over the baseline)."
        if pct > MAX_RELATIVE_PCT:
            return "target.relative_pct", f"relative_pct may be at most {MAX_RELATIVE_PCT}."
        return Target(relative_pct=pct)
    value = _decimal(raw)
    if value is None:
        return "target", 'target must be a number or {"relative_pct": <percent>}.'
    if value <= 0:
        return "target", "target must be above 0."
    if metric in RATES and value > 1:
        return "target", "A rate target is a fraction: 15 % is 0.15."
    if metric not in RATES and value != value.to_integral_value():
        return "target", f"A {metric} target is a whole number (revenue in minor units: 100.00 usd is 10000)."
    return Target(value=value)


def window_problem(start: datetime, end: datetime) -> Problem | None:
    if end <= start:
        return "end", "end must be after start."
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        return "end", "A goal may span at most 5 years."
    return None


def resolved_target(target: Target, baseline: Decimal | None, metric: str = "") -> Decimal | None:
    """The absolute target: the value, or the baseline raised by relative_pct (None without a baseline);
    a raised count or amount is rounded up to a whole one (25 % more than 66 customers is 83)."""
    if target.value is not None:
        return target.value
    if baseline is None or target.relative_pct is None:
        return None
    raised = baseline * (1 + target.relative_pct / 100)
    return raised if metric in RATES else Decimal(math.ceil(raised))


def relative_problem(target: Target, metric: str, baseline: Decimal) -> Problem | None:
    """A relative target over a zero baseline is zero: refused."""
    if target.is_relative and baseline <= 0:
        return "target", (
            f"The baseline ({metric} over the window of the same length before start) is 0, so a relative "
            "target would be 0: give an absolute target."
        )
    return None


@dataclass(frozen=True)
class Progress:
    current: Decimal
    target: Decimal | None
    ratio: Decimal | None  # current ÷ target
    forecast: Decimal | None  # the value expected at the end from the trend so far
    on_track: bool | None  # None before the window starts
    elapsed: Decimal  # share of the window gone, 0..1
    reached: bool  # reached now, as the metric's kind reads it


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else round(value, PLACES)


def progress(
    metric: str, current: Decimal, target: Decimal | None, start: datetime, end: datetime, now: datetime
) -> Progress:
    """Where the goal stands at `now`, with a forecast to its end."""
    total = (end - start).total_seconds()
    gone = min(max((now - start).total_seconds(), 0.0), total)
    elapsed = Decimal(str(gone)) / Decimal(str(total))
    forecast: Decimal | None
    if gone <= 0:
        forecast = None
    elif metric in SUMS:
        forecast = current / elapsed
    else:
        forecast = current
    ratio = None if not target else current / target
    on_track = None if forecast is None or target is None else forecast >= target
    ended = now >= end
    if target is None:
        reached = False
    elif metric in RATES:
        reached = ended and current >= target
    else:
        reached = gone > 0 and current >= target
    return Progress(
        current=current,
        target=target,
        ratio=_round(ratio),
        forecast=_round(forecast),
        on_track=on_track,
        elapsed=_round(elapsed) or Decimal(0),
        reached=reached,
    )


def number(value: Decimal | None, metric: str) -> int | float | None:
    """A goal figure as JSON: whole numbers for sums and counts, fractions for rates."""
    if value is None:
        return None
    if metric in RATES:
        return float(round(value, PLACES))
    return int(value.to_integral_value()) if value == value.to_integral_value() else float(round(value, PLACES))
