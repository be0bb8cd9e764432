"""Partners and enrollments, always through the program's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from partnerloop.models import Enrollment, Partner


def enrolled(program_id: str) -> Select[Partner, Enrollment]:
    return (
        select(Partner, Enrollment)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(Enrollment.program_id == program_id)
    )


def get_enrolled(session: Session, program_id: str, partner_id: str) -> tuple[Partner, Enrollment] | None:
    row = session.execute(enrolled(program_id).where(Partner.id == partner_id)).one_or_none()
    return None if row is None else (row[0], row[1])


def enrollment_of(session: Session, program_id: str, partner_id: str) -> Enrollment | None:
    return session.execute(
        select(Enrollment).where(Enrollment.program_id == program_id, Enrollment.partner_id == partner_id)
    ).scalar_one_or_none()


def enrollment_by_code(session: Session, program_id: str, referral_code: str) -> Enrollment | None:
    return session.execute(
        select(Enrollment).where(Enrollment.program_id == program_id, Enrollment.referral_code == referral_code)
    ).scalar_one_or_none()


def get_by_referral_code(session: Session, program_id: str, code: str) -> tuple[Partner, Enrollment] | None:
    row = session.execute(enrolled(program_id).where(Enrollment.referral_code == code)).one_or_none()
    return None if row is None else (row[0], row[1])


def partner_by_email(session: Session, workspace_id: str, email: str) -> Partner | None:
    return session.execute(
        select(Partner).where(Partner.workspace_id == workspace_id, Partner.email == email)
    ).scalar_one_or_none()


def referral_code_taken(session: Session, program_id: str, code: str) -> bool:
    found = session.execute(
        select(Enrollment.id).where(Enrollment.program_id == program_id, Enrollment.referral_code == code)
    ).first()
    return found is not None


# ---------------------------------------------------------------- what the dashboard reads


def _search_filters(search: str, status: str, group_id: str) -> list[Any]:
    """Name, email or referral code containing `search`; the status; a group ("none": in no group)."""
    filters: list[Any] = []
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        filters.append(
            or_(
                func.lower(Partner.name).like(pattern),
                func.lower(Partner.email).like(pattern),
                func.lower(Enrollment.referral_code).like(pattern),
            )
        )
    if status:
        filters.append(Enrollment.status == status)
    if group_id == "none":
        filters.append(Enrollment.group_id.is_(None))
    elif group_id:
        filters.append(Enrollment.group_id == group_id)
    return filters


def count_matching(session: Session, program_id: str, search: str, status: str, group_id: str) -> int:
    statement = select(func.count()).select_from(Partner).join(Enrollment, Enrollment.partner_id == Partner.id)
    filters = _search_filters(search, status, group_id)
    return int(session.execute(statement.where(Enrollment.program_id == program_id, *filters)).scalar_one())


def page_matching(
    session: Session, program_id: str, search: str, status: str, group_id: str, *, newest: bool, offset: int, limit: int
) -> list[tuple[Partner, Enrollment]]:
    """One page of the matching partners, by name (then id) or newest enrollment first."""
    order = [Enrollment.created_at.desc(), Partner.id.desc()] if newest else [func.lower(Partner.name), Partner.id]
    statement = enrolled(program_id).where(*_search_filters(search, status, group_id))
    rows = session.execute(statement.order_by(*order).offset(offset).limit(limit)).all()
    return [(row[0], row[1]) for row in rows]


def ids_matching(session: Session, program_id: str, search: str, status: str, group_id: str) -> list[str]:
    statement = (
        select(Partner.id)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(Enrollment.program_id == program_id, *_search_filters(search, status, group_id))
    )
    return [str(partner_id) for partner_id in session.execute(statement).scalars()]


def enrolled_among(session: Session, program_id: str, partner_ids: list[str]) -> dict[str, tuple[Partner, Enrollment]]:
    if not partner_ids:
        return {}
    rows = session.execute(enrolled(program_id).where(Partner.id.in_(partner_ids))).all()
    return {row[0].id: (row[0], row[1]) for row in rows}


def ids_by_name_or_email(session: Session, program_id: str, search: str) -> list[str]:
    """Partners of the program whose name or email contains `search` (any case)."""
    pattern = f"%{search.strip().lower()}%"
    statement = (
        select(Partner.id)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .where(
            Enrollment.program_id == program_id,
            or_(func.lower(Partner.name).like(pattern), func.lower(Partner.email).like(pattern)),
        )
    )
    return [str(partner_id) for partner_id in session.execute(statement).scalars()]


def count_with_status(session: Session, program_id: str, status: str) -> int:
    statement = select(func.count()).where(Enrollment.program_id == program_id, Enrollment.status == status)
    return int(session.execute(statement).scalar_one())


def recent_enrollments(session: Session, program_id: str, limit: int) -> list[tuple[datetime, str, str, str]]:
    """(enrolled at, status, partner id, name), newest first."""
    rows = session.execute(
        select(Enrollment.created_at, Enrollment.status, Partner.id, Partner.name)
        .join(Partner, Partner.id == Enrollment.partner_id)
        .where(Enrollment.program_id == program_id)
        .order_by(Enrollment.created_at.desc())
        .limit(limit)
    ).all()
    return [(row[0], row[1], row[2], row[3]) for row in rows]


def names_of(session: Session, partner_ids: set[str]) -> dict[str, tuple[str, str]]:
    """id -> (name, email)."""
    if not partner_ids:
        return {}
    rows = session.execute(select(Partner.id, Partner.name, Partner.email).where(Partner.id.in_(partner_ids))).all()
    return {str(row[0]): (str(row[1]), str(row[2])) for row in rows}


def enrollments_per(session: Session, program_id: str, column: Any) -> dict[str, int]:
    """How many enrollments carry each value of `column` (group_id or plan_id), leaving out none."""
    rows = session.execute(
        select(column, func.count()).where(Enrollment.program_id == program_id, column.is_not(None)).group_by(column)
    ).all()
    return {str(value): int(count) for value, count in rows}


def emails_of_workspace(session: Session, workspace_id: str) -> set[str]:
    return set(session.execute(select(Partner.email).where(Partner.workspace_id == workspace_id)).scalars())
