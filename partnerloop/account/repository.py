"""All SQL of the account layer: users, sessions, tokens, invitations, memberships."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from partnerloop.models import (
    AccountToken,
    Enrollment,
    Invitation,
    Member,
    Partner,
    Program,
    User,
    UserSession,
    Workspace,
)


def user_by_email(session: Session, email: str) -> User | None:
    return session.execute(select(User).where(User.email == email.strip().lower())).scalar_one_or_none()


def user_by_id(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def live_session(session: Session, token_hash: str) -> tuple[UserSession, User] | None:
    row = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == token_hash, UserSession.ended_at.is_(None))
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def touch_session(session: Session, session_id: str, now: datetime) -> None:
    session.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))


def end_session(session: Session, token_hash: str, now: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_hash, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def end_sessions_of_user(session: Session, user_id: str, now: datetime) -> None:
    session.execute(
        update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None)).values(ended_at=now)
    )


def token_by_hash(session: Session, purpose: str, token_hash: str) -> AccountToken | None:
    return session.execute(
        select(AccountToken).where(AccountToken.token_hash == token_hash, AccountToken.purpose == purpose)
    ).scalar_one_or_none()


def use_tokens_of_user(session: Session, user_id: str, purpose: str, now: datetime) -> None:
    """Every open token of this purpose is spent (a reset link dies when another one is used)."""
    session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )


def invitation_by_hash(session: Session, token_hash: str) -> Invitation | None:
    return session.execute(select(Invitation).where(Invitation.token_hash == token_hash)).scalar_one_or_none()


def get_invitation(session: Session, workspace_id: str, invitation_id: str) -> Invitation | None:
    return session.execute(
        select(Invitation).where(Invitation.id == invitation_id, Invitation.workspace_id == workspace_id)
    ).scalar_one_or_none()


def open_invitations(session: Session, workspace_id: str, kind: str, now: datetime) -> list[Invitation]:
    return list(
        session.execute(
            select(Invitation)
            .where(
                Invitation.workspace_id == workspace_id,
                Invitation.kind == kind,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
            )
            .order_by(Invitation.created_at)
        ).scalars()
    )


def membership(session: Session, workspace_id: str, user_id: str) -> Member | None:
    return session.execute(
        select(Member).where(Member.workspace_id == workspace_id, Member.user_id == user_id)
    ).scalar_one_or_none()


def get_member(session: Session, workspace_id: str, member_id: str) -> tuple[Member, User] | None:
    row = session.execute(
        select(Member, User)
        .join(User, User.id == Member.user_id)
        .where(Member.id == member_id, Member.workspace_id == workspace_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def members_of_workspace(session: Session, workspace_id: str) -> list[tuple[Member, User]]:
    rows = session.execute(
        select(Member, User)
        .join(User, User.id == Member.user_id)
        .where(Member.workspace_id == workspace_id)
        .order_by(Member.created_at)
    ).all()
    return [(row[0], row[1]) for row in rows]


def count_owners(session: Session, workspace_id: str) -> int:
    return len(
        session.execute(select(Member.id).where(Member.workspace_id == workspace_id, Member.role == "owner")).all()
    )


def is_member(session: Session, user_id: str) -> bool:
    return session.execute(select(Member.id).where(Member.user_id == user_id).limit(1)).first() is not None


def is_partner(session: Session, user_id: str) -> bool:
    return session.execute(select(Partner.id).where(Partner.user_id == user_id).limit(1)).first() is not None


def programs_of_member(session: Session, user_id: str) -> list[tuple[Program, Member]]:
    """Every program of every workspace the user is a member of, with that membership, oldest first."""
    rows = session.execute(
        select(Program, Member)
        .join(Member, Member.workspace_id == Program.workspace_id)
        .where(Member.user_id == user_id)
        .order_by(Program.created_at, Program.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def enrollments_of_user(session: Session, user_id: str) -> list[tuple[Partner, Enrollment, Program]]:
    """The partner's enrollments in every program, over every Partner row linked to the user."""
    rows = session.execute(
        select(Partner, Enrollment, Program)
        .join(Enrollment, Enrollment.partner_id == Partner.id)
        .join(Program, Program.id == Enrollment.program_id)
        .where(Partner.user_id == user_id)
        .order_by(Enrollment.created_at, Enrollment.id)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def unlinked_enrollments_by_email(session: Session, email: str) -> list[tuple[Program, str]]:
    """(program, enrollment status) of the partner rows with this email that no login holds yet."""
    rows = session.execute(
        select(Program, Enrollment.status)
        .join(Enrollment, Enrollment.program_id == Program.id)
        .join(Partner, Partner.id == Enrollment.partner_id)
        .where(Partner.email == email, Partner.user_id.is_(None))
        .order_by(Enrollment.created_at, Enrollment.id)
    ).all()
    return [(row[0], str(row[1])) for row in rows]


def link_partners_by_email(session: Session, user_id: str, email: str) -> int:
    """Attach every partner row with this email and no login yet to the user; return how many."""
    result = session.execute(
        update(Partner)
        .where(Partner.email == email, Partner.user_id.is_(None))
        .values(user_id=user_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def workspace(session: Session, workspace_id: str) -> Workspace | None:
    return session.get(Workspace, workspace_id)


def first_program_id(session: Session, workspace_id: str) -> str | None:
    return session.execute(
        select(Program.id).where(Program.workspace_id == workspace_id).order_by(Program.created_at).limit(1)
    ).scalar_one_or_none()
