"""Partner groups (tiers) as the portal needs them: their names, and the group of an enrollment."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.models import Enrollment, Group


def group_names(session: Session, program_id: str) -> dict[str, str]:
    """The program's groups, id -> name, in name order."""
    rows = session.execute(select(Group.id, Group.name).where(Group.program_id == program_id).order_by(Group.name))
    return {group_id: name for group_id, name in rows.all()}


def group_of(enrollment: Enrollment) -> str | None:
    return enrollment.group_id
