"""Partner groups, always through the program's scope."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import Enrollment, Group


def get_group(session: Session, program_id: str, group_id: str) -> Group | None:
    return session.execute(
        select(Group).where(Group.id == group_id, Group.program_id == program_id)
    ).scalar_one_or_none()


def group_by_name(session: Session, program_id: str, name: str) -> Group | None:
    return session.execute(
        select(Group).where(Group.program_id == program_id, func.lower(Group.name) == name.lower())
    ).scalar_one_or_none()


def partner_counts(session: Session, group_ids: list[str]) -> dict[str, int]:
    if not group_ids:
        return {}
    rows = session.execute(
        select(Enrollment.group_id, func.count())
        .where(Enrollment.group_id.in_(group_ids))
        .group_by(Enrollment.group_id)
    ).all()
    return {str(group_id): int(count) for group_id, count in rows}


def list_groups(session: Session, program_id: str, cursor: str | None, limit: int) -> tuple[list[Group], str | None]:
    statement = select(Group).where(Group.program_id == program_id)
    rows = list(session.execute(paginate(statement, Group.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda group: group.id)


def groups_by_name(session: Session, program_id: str) -> list[Group]:
    return list(session.execute(select(Group).where(Group.program_id == program_id).order_by(Group.name)).scalars())
