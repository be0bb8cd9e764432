"""Account use cases: users, login sessions, password reset, email verification, invitations, team."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from sqlalchemy.orm import Session

from partnerloop.account import emails, repository
from partnerloop.account.rules import Role, SessionTimes, assignable_roles, password_problem, session_is_valid
from partnerloop.config import Settings
from partnerloop.kit.crypto import hash_password, password_needs_rehash, verify_password
from partnerloop.kit.errors import AppError, Conflict, Forbidden, NotFound
from partnerloop.kit.ids import sha256_hex
from partnerloop.kit.time import utc_now
from partnerloop.models import AccountToken, Invitation, Member, Partner, Program, User, UserSession
from partnerloop.notify.email import enqueue_email
from partnerloop.partner import service as partner_service
from partnerloop.partner.schemas import PartnerIn
from partnerloop.partner.service import change_status, enroll_partner
from partnerloop.program.service import create_program, is_email
from partnerloop.web.pages import is_https, remember_user

SESSION_COOKIE = "pl_session"
SECURE_SESSION_COOKIE = "__Host-pl_session"  # __Host-: Secure, Path=/, no Domain: only this host sees it
RESET_LIFETIME = timedelta(hours=1)
VERIFY_LIFETIME = timedelta(days=3)
INVITATION_LIFETIME = timedelta(days=14)
# Verifying against this when the email is unknown makes a miss cost as much as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-but-the-same-cost")


class AccountError(AppError):
    status_code = 422


class InvalidCredentials(AccountError):
    status_code = 401


class WeakPassword(AccountError):
    pass


class EmailTaken(Conflict):
    pass


class InvalidLink(AccountError):
    status_code = 400


class LoginToAccept(AccountError):
    """The invitation is for an existing account: its owner logs in first."""

    status_code = 409


class NotAllowed(Forbidden):
    pass


class MemberNotFound(NotFound):
    pass


def new_token() -> tuple[str, str]:
    """A secret for a link or cookie (256 random bits) and the hash that is stored."""
    token = secrets.token_urlsafe(32)
    return token, sha256_hex(token)


def _link(settings: Settings, path: str) -> str:
    return settings.base_url.rstrip("/") + path


def check_new_password(password: str, email: str) -> None:
    problem = password_problem(password, email=email)
    if problem is not None:
        raise WeakPassword(problem)


def normalize_email(email: str) -> str:
    normalized = email.strip().lower()
    if not is_email(normalized):
        raise AccountError(f"'{email.strip()}' is not an email address.")
    return normalized


# ------------------------------------------------------------------------------------------ users


def create_user(session: Session, *, email: str, password: str, name: str | None, verified: bool = False) -> User:
    """A new login; the password is checked against the policy. EmailTaken when the address has one."""
    email = normalize_email(email)
    check_new_password(password, email)
    if repository.user_by_email(session, email) is not None:
        raise EmailTaken("An account with this email exists already: log in instead.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        name=(name or "").strip() or None,
        email_verified_at=utc_now() if verified else None,
    )
    session.add(user)
    session.flush()
    return user


def create_partner_user(
    session: Session, *, email: str, password: str, name: str, verified: bool = False, settings: Settings | None = None
) -> User:
    """A login for a partner. Partner rows with this email are linked to it once the address is proven:
    at once when `verified` (e.g. the user came from an invitation link), else when the verification
    email's link is opened (it is sent when `settings` is given). Anything else would let whoever signs
    up with someone's address read that partner's earnings."""
    user = create_user(session, email=email, password=password, name=name, verified=verified)
    if verified:
        repository.link_partners_by_email(session, user.id, user.email)
    elif settings is not None:
        send_verification(session, user, settings)
    return user


def sign_up(
    session: Session, *, settings: Settings, name: str, email: str, password: str, company: str, domain: str
) -> User:
    """A merchant's sign-up: the user, then a workspace with one program owned by them; sends verification."""
    if not company.strip():
        raise AccountError("Give your company's or program's name.")
    if not domain.strip():
        raise AccountError("Give your website's domain, e.g. example.com.")
    user = create_user(session, email=email, password=password, name=name)
    try:
        create_program(session, name=company, domains=[domain], owner_email=user.email, owner_password=None)
    except AppError as error:
        raise AccountError(error.message) from error
    send_verification(session, user, settings)
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The user with this email and password; InvalidCredentials otherwise (same answer either way)."""
    user = repository.user_by_email(session, email)
    if user is None or not user.password_hash:
        verify_password(_DUMMY_HASH, password)
        raise InvalidCredentials("Email or password is wrong.")
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials("Email or password is wrong.")
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    if not user.password_hash or not verify_password(user.password_hash, current):
        raise InvalidCredentials("The current password is wrong.")
    check_new_password(new, user.email)
    user.password_hash = hash_password(new)
    session.flush()


def update_profile(session: Session, user: User, *, name: str) -> None:
    user.name = name.strip()[:200] or None
    session.flush()


# ------------------------------------------------------------------------------------- sessions


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if is_https(request) else SESSION_COOKIE


def presented_token(request: Request) -> str | None:
    """The session token in the request's cookie (over https only the __Host- one counts)."""
    token = request.cookies.get(session_cookie_name(request))
    return token if token and len(token) <= 100 else None


def start_session(response: Response, session: Session, user: User, request: Request) -> UserSession:
    """Log `user` in on `response`: a fresh token (any session the browser held is ended: rotation)."""
    settings: Settings = request.app.state.settings
    now = utc_now()
    previous = presented_token(request)
    if previous:
        repository.end_session(session, sha256_hex(previous), now)
    token, token_hash = new_token()
    max_age = timedelta(hours=settings.session_max_hours)
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash,
        created_at=now,
        last_seen_at=now,
        expires_at=now + max_age,
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    response.set_cookie(
        session_cookie_name(request),
        token,
        max_age=int(max_age.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    request.state.session_token_hash = token_hash
    remember_user(request, user)
    return row


def resolve_session(session: Session, request: Request) -> tuple[User, UserSession] | None:
    """The logged-in user and session behind the request's cookie, when valid at this moment."""
    token = presented_token(request)
    if token is None:
        return None
    found = repository.live_session(session, sha256_hex(token))
    if found is None:
        return None
    row, user = found
    settings: Settings = request.app.state.settings
    times = SessionTimes(row.created_at, row.last_seen_at, row.expires_at, row.ended_at)
    if not session_is_valid(times, utc_now(), timedelta(minutes=settings.session_idle_minutes)):
        return None
    return user, row


def end_session(response: Response, session: Session, request: Request) -> None:
    """Log out: the session row is ended (the token is worthless from now on) and the cookie cleared."""
    token = presented_token(request)
    if token:
        repository.end_session(session, sha256_hex(token), utc_now())
    response.delete_cookie(session_cookie_name(request), path="/", secure=is_https(request), httponly=True)


# ------------------------------------------------------------------------------- tokens by email


def _issue_token(session: Session, user: User, purpose: str, lifetime: timedelta) -> str:
    token, token_hash = new_token()
    now = utc_now()
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash,
            email=user.email,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return token


def _redeem(session: Session, purpose: str, token: str) -> tuple[AccountToken, User]:
    row = repository.token_by_hash(session, purpose, sha256_hex(token)) if token else None
    if row is None or row.used_at is not None or row.expires_at <= utc_now():
        raise InvalidLink("This link is invalid, was used already or has expired. Ask for a new one.")
    user = repository.user_by_id(session, row.user_id)
    if user is None or user.email != row.email:
        raise InvalidLink("This link no longer matches its account. Ask for a new one.")
    return row, user


def request_password_reset(session: Session, settings: Settings, email: str) -> bool:
    """Email a reset link when the address has an account; True when one was sent (never shown to the user)."""
    user = repository.user_by_email(session, email)
    if user is None:
        return False
    token = _issue_token(session, user, "reset", RESET_LIFETIME)
    message = emails.password_reset(_link(settings, f"/reset/{token}"), int(RESET_LIFETIME.total_seconds() // 60))
    enqueue_email(session, to=user.email, subject=message.subject, text=message.text, html=message.html)
    return True


def check_reset_token(session: Session, token: str) -> User:
    return _redeem(session, "reset", token)[1]


def reset_password(session: Session, *, token: str, password: str) -> User:
    """Set a new password with a reset link: the link is spent, every session of the user ends."""
    row, user = _redeem(session, "reset", token)
    check_new_password(password, user.email)
    now = utc_now()
    user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached the inbox: the address is theirs
        repository.link_partners_by_email(session, user.id, user.email)
    repository.use_tokens_of_user(session, user.id, "reset", now)
    repository.end_sessions_of_user(session, user.id, now)
    row.used_at = now
    session.flush()
    return user


def send_verification(session: Session, user: User, settings: Settings) -> None:
    token = _issue_token(session, user, "verify", VERIFY_LIFETIME)
    message = emails.verify_email(_link(settings, f"/verify/{token}"))
    enqueue_email(session, to=user.email, subject=message.subject, text=message.text, html=message.html)


def programs_awaiting_confirmation(session: Session, user: User) -> list[tuple[Program, str]]:
    """(program, enrollment status) where this login applied but its address is not confirmed yet: the partner
    account is theirs once they open the confirmation email. Empty once confirmed."""
    if user.email_verified_at is not None:
        return []
    return repository.unlinked_enrollments_by_email(session, user.email)


def verify_email(session: Session, token: str) -> User:
    """Mark the address verified and attach the partner rows that carry it."""
    row, user = _redeem(session, "verify", token)
    now = utc_now()
    user.email_verified_at = user.email_verified_at or now
    repository.use_tokens_of_user(session, user.id, "verify", now)
    repository.link_partners_by_email(session, user.id, user.email)
    row.used_at = now
    session.flush()
    return user


# ----------------------------------------------------------------------------------- invitations


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # only in the email; the database keeps its hash


def invite_member(
    session: Session, settings: Settings, *, inviter: Member, inviter_user: User, email: str, role: str
) -> IssuedInvitation:
    """Invite someone to the inviter's workspace with `role` (an owner may invite owners; an admin not)."""
    email = normalize_email(email)
    try:
        wanted = Role(role)
    except ValueError:
        raise AccountError(f"'{role}' is not a role (owner, admin, manager, viewer).") from None
    if wanted not in assignable_roles(Role(inviter.role)):
        raise NotAllowed(f"Your role ({inviter.role}) cannot invite an {wanted.value}.")
    existing = repository.user_by_email(session, email)
    if existing is not None and repository.membership(session, inviter.workspace_id, existing.id) is not None:
        raise EmailTaken(f"{email} is already on the team.")
    token, token_hash = new_token()
    now = utc_now()
    invitation = Invitation(
        kind="member",
        workspace_id=inviter.workspace_id,
        email=email,
        role=wanted.value,
        token_hash=token_hash,
        invited_by_user_id=inviter_user.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    workspace = repository.workspace(session, inviter.workspace_id)
    message = emails.member_invitation(
        _link(settings, f"/invite/{token}"),
        workspace.name if workspace else "a workspace",
        wanted.value,
        inviter_user.name or inviter_user.email,
    )
    enqueue_email(session, to=email, subject=message.subject, text=message.text, html=message.html)
    return IssuedInvitation(invitation, token)


def invite_partner(
    session: Session, settings: Settings, *, program: Program, inviter_user: User, email: str, name: str
) -> IssuedInvitation:
    """Enrol the partner as `invited` (or reuse an open enrollment) and email them a link to accept."""
    email = normalize_email(email)
    partner = partner_service.partner_by_email(session, program.workspace_id, email)
    enrollment = partner_service.enrollment_of(session, program.id, partner.id) if partner else None
    if partner is None or enrollment is None:
        partner, _ = enroll_partner(
            session, program, PartnerIn(email=email, name=name.strip() or email, status="invited")
        )
    elif enrollment.status not in ("invited", "pending"):
        raise EmailTaken(f"{email} is already {enrollment.status} in this program.")
    token, token_hash = new_token()
    now = utc_now()
    invitation = Invitation(
        kind="partner",
        workspace_id=program.workspace_id,
        program_id=program.id,
        partner_id=partner.id,
        email=email,
        token_hash=token_hash,
        invited_by_user_id=inviter_user.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    message = emails.partner_invitation(
        _link(settings, f"/invite/{token}"), program.name, inviter_user.name or inviter_user.email
    )
    enqueue_email(session, to=email, subject=message.subject, text=message.text, html=message.html)
    return IssuedInvitation(invitation, token)


def open_invitation(session: Session, token: str) -> Invitation:
    invitation = repository.invitation_by_hash(session, sha256_hex(token)) if token else None
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utc_now()
    ):
        raise InvalidLink("This invitation is invalid, was used already, was withdrawn or has expired.")
    return invitation


def accept_invitation(
    session: Session, *, token: str, current_user: User | None, name: str = "", password: str = ""
) -> tuple[User, Invitation, bool]:
    """Accept with the logged-in account of the invited address, or a new account (name + password).

    Returns (user, invitation, created): `created` when a new account was made (the caller logs it in).
    """
    invitation = open_invitation(session, token)
    created = False
    if current_user is not None:
        if current_user.email != invitation.email:
            raise NotAllowed(
                f"This invitation is for {invitation.email}; you are logged in as {current_user.email}. "
                "Log out first, then open the link again."
            )
        user = current_user
        if user.email_verified_at is None:
            user.email_verified_at = utc_now()
    else:
        if repository.user_by_email(session, invitation.email) is not None:
            raise LoginToAccept(f"{invitation.email} has an account already: log in to accept.")
        user = create_user(session, email=invitation.email, password=password, name=name, verified=True)
        created = True
    if invitation.kind == "member":
        if repository.membership(session, invitation.workspace_id, user.id) is None:
            session.add(Member(workspace_id=invitation.workspace_id, user_id=user.id, role=invitation.role or "viewer"))
    else:
        _accept_partner_invitation(session, invitation, user)
    invitation.accepted_at = utc_now()
    repository.link_partners_by_email(session, user.id, user.email)
    session.flush()
    return user, invitation, created


def _accept_partner_invitation(session: Session, invitation: Invitation, user: User) -> None:
    partner = session.get(Partner, invitation.partner_id) if invitation.partner_id else None
    program = session.get(Program, invitation.program_id) if invitation.program_id else None
    if partner is None or program is None or partner.workspace_id != invitation.workspace_id:
        raise InvalidLink("This invitation's program or partner no longer exists.")
    if partner.user_id not in (None, user.id):
        raise NotAllowed("This partner account belongs to another login.")
    partner.user_id = user.id
    found = partner_service.enrollment_of(session, program.id, partner.id)
    if found is not None and found.status == "invited":
        change_status(session, program, partner.id, "approve")


def revoke_invitation(session: Session, *, workspace_id: str, invitation_id: str) -> None:
    invitation = repository.get_invitation(session, workspace_id, invitation_id)
    if invitation is None:
        raise NotFound("No such invitation in this workspace.")
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utc_now()
        session.flush()


# ------------------------------------------------------------------------------------------ team


def change_role(session: Session, *, actor: Member, member_id: str, role: str) -> Member:
    """Give a team member another role, within what the actor may assign; the last owner stays owner."""
    found = repository.get_member(session, actor.workspace_id, member_id)
    if found is None:
        raise MemberNotFound("No such member in this workspace.")
    member, _user = found
    try:
        wanted = Role(role)
    except ValueError:
        raise AccountError(f"'{role}' is not a role (owner, admin, manager, viewer).") from None
    allowed = assignable_roles(Role(actor.role))
    if wanted not in allowed or Role(member.role) not in allowed:
        raise NotAllowed(f"Your role ({actor.role}) cannot change an {member.role} into an {wanted.value}.")
    if (
        member.role == Role.OWNER
        and wanted is not Role.OWNER
        and repository.count_owners(session, actor.workspace_id) <= 1
    ):
        raise AccountError("The workspace needs at least one owner: make someone else owner first.")
    member.role = wanted.value
    session.flush()
    return member


def remove_member(session: Session, *, actor: Member, member_id: str) -> None:
    found = repository.get_member(session, actor.workspace_id, member_id)
    if found is None:
        raise MemberNotFound("No such member in this workspace.")
    member, _user = found
    if Role(member.role) not in assignable_roles(Role(actor.role)):
        raise NotAllowed(f"Your role ({actor.role}) cannot remove an {member.role}.")
    if member.role == Role.OWNER and repository.count_owners(session, actor.workspace_id) <= 1:
        raise AccountError("The workspace needs at least one owner.")
    session.delete(member)
    session.flush()


def user_by_email(session: Session, email: str) -> User | None:
    """The login with this email (compared in lower case), or None."""
    return repository.user_by_email(session, email)


def members_of_workspace(session: Session, workspace_id: str) -> list[tuple[Member, User]]:
    """The workspace's team: each membership with its login."""
    return repository.members_of_workspace(session, workspace_id)


def open_invitations(session: Session, workspace_id: str, kind: str) -> list[Invitation]:
    """Invitations of this kind ("member" or "partner") not yet accepted, revoked or expired."""
    return repository.open_invitations(session, workspace_id, kind, utc_now())
