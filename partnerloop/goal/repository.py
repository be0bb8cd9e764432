"""All SQL of goals, scoped by the program."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.models import Enrollment, Goal, Group, Partner


def add(session: Session, goal: Goal) -> Goal:
    session.add(goal)
    session.flush()
    return goal


def get(session: Session, program_id: str, goal_id: str, *, lock: bool = False) -> Goal | None:
    statement = select(Goal).where(Goal.program_id == program_id, Goal.id == goal_id)
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def page(session: Session, program_id: str, *, partner_id: str | None, after: str | None, limit: int) -> list[Goal]:
    """Goals newest first (ids are ULIDs), after the cursor."""
    statement = select(Goal).where(Goal.program_id == program_id)
    if partner_id is not None:
        statement = statement.where(Goal.partner_id == partner_id)
    if after is not None:
        statement = statement.where(Goal.id < after)
    return list(session.execute(statement.order_by(Goal.id.desc()).limit(limit)).scalars())


def partner_goals_overlapping(
    session: Session, program_id: str, start: datetime, end: datetime, partner_ids: list[str] | None = None
) -> list[Goal]:
    """The program's partner goals whose window overlaps [start, end), oldest first."""
    statement = select(Goal).where(
        Goal.program_id == program_id, Goal.partner_id.is_not(None), Goal.starts_at < end, Goal.ends_at > start
    )
    if partner_ids is not None:
        statement = statement.where(Goal.partner_id.in_(partner_ids))
    return list(session.execute(statement.order_by(Goal.id)).scalars())


def unachieved_running(session: Session, now: datetime) -> list[Goal]:
    """Every program's goals not reached yet whose window has started (ended ones too: a rate goal is
    reached when its window ends)."""
    return list(
        session.execute(
            select(Goal).where(Goal.achieved_at.is_(None), Goal.starts_at <= now).order_by(Goal.program_id, Goal.id)
        ).scalars()
    )


def partner_in_program(session: Session, program_id: str, partner_id: str) -> Partner | None:
    return session.execute(
        select(Partner)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(Enrollment.program_id == program_id, Partner.id == partner_id)
    ).scalar_one_or_none()


def group_in_program(session: Session, program_id: str, group_id: str) -> Group | None:
    return session.execute(
        select(Group).where(Group.program_id == program_id, Group.id == group_id)
    ).scalar_one_or_none()
