"""What the dashboard reads of partners and enrollments: searches, counts and names.

A search matches the name, email or referral code (any case), a status and a group ("none": in no group)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from partnerloop.models import Enrollment, Partner
from partnerloop.partner import repository


def enrolled_partner(session: Session, program_id: str, partner_id: str) -> tuple[Partner, Enrollment] | None:
    """The partner and their enrollment in the program, or None when they are not enrolled in it."""
    return repository.get_enrolled(session, program_id, partner_id)


def count_matching(session: Session, program_id: str, *, search: str, status: str, group_id: str) -> int:
    return repository.count_matching(session, program_id, search, status, group_id)


def page_matching(
    session: Session,
    program_id: str,
    *,
    search: str,
    status: str,
    group_id: str,
    newest: bool,
    offset: int,
    limit: int,
) -> list[tuple[Partner, Enrollment]]:
    """One page of the matching partners: by name (then id), or the newest enrollments first."""
    return repository.page_matching(
        session, program_id, search, status, group_id, newest=newest, offset=offset, limit=limit
    )


def ids_matching(session: Session, program_id: str, *, search: str, status: str, group_id: str) -> list[str]:
    """Every matching partner's id (to order them by figures other domains hold)."""
    return repository.ids_matching(session, program_id, search, status, group_id)


def enrolled_among(session: Session, program_id: str, partner_ids: list[str]) -> dict[str, tuple[Partner, Enrollment]]:
    """Those of `partner_ids` enrolled in the program, by id."""
    return repository.enrolled_among(session, program_id, partner_ids)


def ids_by_name_or_email(session: Session, program_id: str, search: str) -> list[str]:
    """The program's partners whose name or email contains `search` (any case)."""
    return repository.ids_by_name_or_email(session, program_id, search)


def count_with_status(session: Session, program_id: str, status: str) -> int:
    return repository.count_with_status(session, program_id, status)


def recent_enrollments(session: Session, program_id: str, limit: int) -> list[tuple[datetime, str, str, str]]:
    """(enrolled at, status, partner id, partner name), newest first."""
    return repository.recent_enrollments(session, program_id, limit)


def names_of(session: Session, partner_ids: set[str]) -> dict[str, tuple[str, str]]:
    """Partner id -> (name, email)."""
    return repository.names_of(session, partner_ids)


def group_sizes(session: Session, program_id: str) -> dict[str, int]:
    """Group id -> how many enrollments are in it."""
    return repository.enrollments_per(session, program_id, Enrollment.group_id)


def plan_usage(session: Session, program_id: str) -> dict[str, int]:
    """Plan id -> how many enrollments carry it as their own."""
    return repository.enrollments_per(session, program_id, Enrollment.plan_id)
