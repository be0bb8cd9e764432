"""SMART goals: create one, measure its progress from the reports' figures, record and tell when it is reached.

When a goal is reached it is recorded once (`achieved_at`, the unlocked row re-read under lock) and
its owner is told by email: the partner for a partner's goal, the program's managers otherwise.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from partnerloop.engagement.service.reviews import set_goals_source
from partnerloop.goal import repository
from partnerloop.goal.rules import Progress, Target, number, parse_target, progress, relative_problem, resolved_target
from partnerloop.goal.rules import window_problem as goal_window_problem
from partnerloop.goal.schemas import GoalIn
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.money import email_money
from partnerloop.kit.pagination import check_limit
from partnerloop.models import Goal, Partner, Program
from partnerloop.notify.email import enqueue_email
from partnerloop.notify.recipients import manager_emails
from partnerloop.report.metrics import METRICS
from partnerloop.report.rules import Window
from partnerloop.report.service import window_figures
from partnerloop.webhook.service import emit, listens


class InvalidGoal(InvalidInput):
    pass


class GoalNotFound(NotFound):
    pass


def _refuse(problem: tuple[str, str] | None) -> None:
    if problem is not None:
        field, sentence = problem
        raise InvalidGoal(f"{field}: {sentence}")


def measure(
    session: Session,
    program: Program,
    metric: str,
    window: Window,
    *,
    partner_id: str | None = None,
    group_id: str | None = None,
) -> Decimal:
    """The metric over the window for the program, a group or a partner (0 for a rate without a denominator)."""
    figures = window_figures(session, program, window, group_id=group_id, partner_id=partner_id)
    value = METRICS[metric].value(figures)
    return Decimal(0) if value is None else Decimal(str(value))


def _target_of(goal: Goal) -> Target:
    if goal.relative_pct is not None:
        return Target(relative_pct=Decimal(goal.relative_pct))
    return Target(value=Decimal(goal.target_value or "0"))


def _baseline_window(goal: Goal) -> Window:
    return Window(goal.starts_at, goal.ends_at).previous()


def create_goal(session: Session, program: Program, body: GoalIn, now: datetime, *, actor: str) -> Goal:
    """Validate and store a goal; 422 naming the field for anything it cannot measure."""
    target = parse_target(body.metric, body.target)
    if isinstance(target, tuple):
        _refuse(target)
    assert isinstance(target, Target)
    start = body.start or now
    _refuse(goal_window_problem(start, body.end))
    if body.partner_id is not None and body.group_id is not None:
        _refuse(("group_id", "A goal is for the program, one group or one partner: not both a group and a partner."))
    if body.partner_id is not None and repository.partner_in_program(session, program.id, body.partner_id) is None:
        _refuse(("partner_id", f"No partner {body.partner_id} in this program."))
    if body.group_id is not None and repository.group_in_program(session, program.id, body.group_id) is None:
        _refuse(("group_id", f"No group {body.group_id} in this program."))
    goal = Goal(
        program_id=program.id,
        name=body.name,
        metric=body.metric,
        target_value=None if target.value is None else str(target.value),
        relative_pct=None if target.relative_pct is None else str(target.relative_pct),
        starts_at=start,
        ends_at=body.end,
        partner_id=body.partner_id,
        group_id=body.group_id,
        created_by=actor,
    )
    if target.is_relative:
        baseline = measure(session, program, body.metric, _baseline_window(goal), partner_id=body.partner_id,
                           group_id=body.group_id)  # fmt: skip
        _refuse(relative_problem(target, body.metric, baseline))
    return repository.add(session, goal)


def goal_progress(session: Session, program: Program, goal: Goal, now: datetime) -> tuple[Decimal | None, Progress]:
    """(baseline, progress) of the goal at `now`; the baseline only for a relative goal."""
    target = _target_of(goal)
    baseline = None
    if target.is_relative:
        baseline = measure(session, program, goal.metric, _baseline_window(goal), partner_id=goal.partner_id,
                           group_id=goal.group_id)  # fmt: skip
    until = min(max(now, goal.starts_at), goal.ends_at)
    current = (
        measure(session, program, goal.metric, Window(goal.starts_at, until), partner_id=goal.partner_id,
                group_id=goal.group_id)
        if until > goal.starts_at else Decimal(0)
    )  # fmt: skip
    return baseline, progress(
        goal.metric, current, resolved_target(target, baseline, goal.metric), goal.starts_at, goal.ends_at, now
    )


def goal_out(session: Session, program: Program, goal: Goal, now: datetime) -> dict[str, Any]:
    baseline, at = goal_progress(session, program, goal, now)
    metric = goal.metric
    return {
        "id": goal.id,
        "name": goal.name,
        "metric": metric,
        "metric_definition": METRICS[metric].definition,
        "target": (
            {"relative_pct": number(Decimal(goal.relative_pct), "relative")}
            if goal.relative_pct is not None
            else number(Decimal(goal.target_value or "0"), metric)
        ),
        "start": goal.starts_at.isoformat(),
        "end": goal.ends_at.isoformat(),
        "partner_id": goal.partner_id,
        "group_id": goal.group_id,
        "currency": program.currency if metric in ("revenue", "net_revenue") else None,
        "baseline": number(baseline, metric),
        "achieved_at": goal.achieved_at.isoformat() if goal.achieved_at else None,
        "created_at": goal.created_at.isoformat(),
        "progress": {
            "current": number(at.current, metric),
            "target": number(at.target, metric),
            "ratio": None if at.ratio is None else float(at.ratio),
            "forecast": number(at.forecast, metric),
            "on_track": at.on_track,
            "elapsed": float(at.elapsed),
            "reached": at.reached or goal.achieved_at is not None,
        },
    }


def partner_goals_at(
    session: Session,
    program: Program,
    start: datetime,
    end: datetime,
    now: datetime,
    partner_ids: list[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """partner id -> their goals overlapping [start, end), each with its progress as of `end` (or `now`, when
    sooner): what a monthly review sets the month against."""
    found: dict[str, list[dict[str, Any]]] = {}
    as_of = min(end, now)
    for goal in repository.partner_goals_overlapping(session, program.id, start, end, partner_ids):
        _baseline, at = goal_progress(session, program, goal, as_of)
        assert goal.partner_id is not None
        found.setdefault(goal.partner_id, []).append({
            "id": goal.id, "name": goal.name, "metric": goal.metric,
            "current": number(at.current, goal.metric), "target": number(at.target, goal.metric),
            "percent": None if at.ratio is None else int(at.ratio * 100),
            "reached": bool(at.reached or (goal.achieved_at is not None and goal.achieved_at <= as_of)),
            "on_track": at.on_track, "end": goal.ends_at.isoformat(),
        })  # fmt: skip
    return found


def get_goal(session: Session, program: Program, goal_id: str) -> Goal:
    goal = repository.get(session, program.id, goal_id)
    if goal is None:
        raise GoalNotFound(f"No goal {goal_id} in this program.")
    return goal


def list_goals(
    session: Session, program: Program, *, partner_id: str | None = None, cursor: str | None = None, limit: int = 50
) -> tuple[list[Goal], str | None]:
    """A page of goals, newest first, and the cursor of the next page."""
    limit = check_limit(limit)
    goals = repository.page(session, program.id, partner_id=partner_id, after=cursor, limit=limit + 1)
    more = len(goals) > limit
    goals = goals[:limit]
    return goals, (goals[-1].id if more and goals else None)


def _value_text(value: Decimal, metric: str, currency: str) -> str:
    if metric in ("revenue", "net_revenue"):
        return email_money(int(value), currency)
    if METRICS[metric].kind == "ratio":
        return f"{float(value) * 100:.1f} %"
    return str(number(value, metric))


def record_if_reached(session: Session, program: Program, goal: Goal, now: datetime) -> bool:
    """Record the goal as achieved when it is reached now, and tell its owner; True when it was just recorded."""
    if goal.achieved_at is not None:
        return False
    _baseline, at = goal_progress(session, program, goal, now)
    if not at.reached:
        return False
    locked = repository.get(session, program.id, goal.id, lock=True)
    if locked is None or locked.achieved_at is not None:
        return False
    locked.achieved_at = now
    locked.achieved_value = str(at.current)
    target = at.target if at.target is not None else Decimal(0)
    subject = f"Goal reached: {goal.name}"
    text = (
        f"The goal “{goal.name}” of {program.name} is reached: {METRICS[goal.metric].label} is "
        f"{_value_text(at.current, goal.metric, program.currency)} against a target of "
        f"{_value_text(target, goal.metric, program.currency)} "
        f"({goal.starts_at:%Y-%m-%d} to {goal.ends_at:%Y-%m-%d})."
    )
    for recipient in owners(session, program, goal):
        enqueue_email(session, to=recipient, subject=subject, text=text)
    session.flush()
    if listens(session, program.id, "goal.achieved"):
        emit(session, program.id, "goal.achieved", jsonable_encoder(goal_out(session, program, locked, now)))
    return True


def owners(session: Session, program: Program, goal: Goal) -> list[str]:
    """Who is told about the goal: its partner, or the program's managers."""
    if goal.partner_id is not None:
        partner = session.get(Partner, goal.partner_id)
        return [partner.email] if partner is not None else []
    return manager_emails(session, program)


def check_goals(session: Session, now: datetime) -> int:
    """Every running goal of every program: record the ones reached. Returns how many were."""
    reached = 0
    programs: dict[str, Program] = {}
    for goal in repository.unachieved_running(session, now):
        program = programs.get(goal.program_id) or session.get(Program, goal.program_id)
        if program is None:
            continue
        programs[goal.program_id] = program
        if record_if_reached(session, program, goal, now):
            reached += 1
    return reached


set_goals_source(partner_goals_at)  # monthly reviews set each partner's month against their goals
