"""What the pages (the manager's and the partner's) show of a goal: its figures in words and its state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.goal import service as goal_service
from partnerloop.goal.rules import RATES
from partnerloop.kit.money import format_money
from partnerloop.models import Goal, Program
from partnerloop.report.metrics import METRICS

MONEY_METRICS = ("revenue", "net_revenue")


def goal_value_text(metric: str, value: Any, currency: str, money: Callable[[int, str], str] = format_money) -> str:
    if value is None:
        return "—"
    if metric in MONEY_METRICS:
        return money(int(value), currency)
    if metric in RATES:
        return f"{float(value) * 100:.1f} %"
    return f"{float(value):,.0f}" if float(value) == int(float(value)) else f"{float(value):,.1f}"


def goal_cards(
    session: Session,
    program: Program,
    goals: list[Goal],
    now: datetime,
    money: Callable[[int, str], str] = format_money,
) -> list[dict[str, Any]]:
    """Each goal as the pages show it: its figures in words, the bar's share, and whether it is on track."""
    cards = []
    for goal in goals:
        out = goal_service.goal_out(session, program, goal, now)
        progress = out["progress"]
        metric = goal.metric
        if out["achieved_at"]:
            state, state_text = "achieved", "Achieved"
        elif progress["on_track"] is None:
            state, state_text = "upcoming", "Not started"
        elif goal.ends_at <= now:
            state, state_text = "behind", "Missed"
        else:
            state, state_text = ("on-track", "On track") if progress["on_track"] else ("behind", "Behind")
        target = out["target"]
        cards.append({
            "goal": goal, "out": out, "state": state, "state_text": state_text,
            "metric_label": METRICS[metric].label, "definition": METRICS[metric].definition,
            "current": goal_value_text(metric, progress["current"], program.currency, money),
            "target": goal_value_text(metric, progress["target"], program.currency, money),
            "forecast": goal_value_text(metric, progress["forecast"], program.currency, money),
            "baseline": goal_value_text(metric, out["baseline"], program.currency, money) if out["baseline"] is not None else None,
            "relative": f"+{target['relative_pct']} % on the baseline" if isinstance(target, dict) else None,
            "percent": min(100, round((progress["ratio"] or 0) * 100)),
            "elapsed": round(progress["elapsed"] * 100),
        })  # fmt: skip
    return cards
