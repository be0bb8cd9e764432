"""Who is told about a program's goals and alerts: its workspace's owners, admins and managers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.models import Member, Program, User

MANAGING_ROLES = ("owner", "admin", "manager")


def manager_emails(session: Session, program: Program) -> list[str]:
    """The email of every member of the program's workspace who manages it (viewers are not told)."""
    rows = session.execute(
        select(User.email)
        .join(Member, Member.user_id == User.id)
        .where(Member.workspace_id == program.workspace_id, Member.role.in_(MANAGING_ROLES))
        .order_by(User.email)
    ).scalars()
    return list(dict.fromkeys(str(email) for email in rows))
