"""Partners and enrollments, always through the program's scope."""

from __future__ import annotations

from sqlalchemy import Select, select
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
