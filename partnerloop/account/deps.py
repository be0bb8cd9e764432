"""Page dependencies: who is logged in, the manager's program and role, the partner's enrollment, CSRF.

Views declare what they need: `ctx: ManagerPage` (any team member; read-only pages), `ctx: ManagerAction`
(CSRF checked, viewers refused), `ctx: ManagerAdmin` (owners and admins), `ctx: PartnerPage`, or
`_: CsrfChecked` on a form handler of their own. Templates extend base.html and get `csrf_input()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from partnerloop.account import repository, service
from partnerloop.account.rules import Role, should_touch
from partnerloop.db import transaction
from partnerloop.deps import READ_METHODS, DbSession
from partnerloop.kit.time import utc_now
from partnerloop.models import Enrollment, Member, Partner, Program, User
from partnerloop.web.pages import (
    CSRF_FIELD,
    CSRF_HEADER,
    CsrfFailed,
    EmailNotConfirmed,
    LoginRequired,
    PageForbidden,
    PageNotFound,
    csrf_input,
    csrf_token_is_valid,
    redirect,
    remember_user,
    render,
)

__all__ = [
    "CsrfChecked",
    "CurrentUser",
    "ManagerAction",
    "ManagerAdmin",
    "ManagerContext",
    "ManagerPage",
    "PartnerContext",
    "PartnerPage",
    "csrf_input",
    "current_user",
    "redirect",
    "render",
    "verify_csrf",
]


def current_user(request: Request, session: DbSession) -> User | None:
    """The user of a valid login session, or None. Records activity (for the idle timeout) once a minute."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    found = service.resolve_session(session, request)
    if found is None:
        remember_user(request, None)
        return None
    user, row = found
    remember_user(request, user)
    request.state.session_token_hash = row.token_hash
    now = utc_now()
    if should_touch(row.last_seen_at, now):
        if request.method in READ_METHODS:
            # The request's own transaction is read-only (on SQLite it must not start writing midway).
            with transaction(request.app.state.engine) as writer:
                repository.touch_session(writer, row.id, now)
        else:
            repository.touch_session(session, row.id, now)
    return user


CurrentUser = Annotated[User | None, Depends(current_user)]


def _same_origin(request: Request) -> bool:
    """A browser's Origin (or Referer), when sent, must be this site."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True  # some browsers and proxies strip both: the token alone decides
    # The host only: behind a TLS-terminating proxy the app may see http while the browser says https.
    return source != "null" and urlsplit(source).netloc == request.url.netloc


async def verify_csrf(request: Request, _user: CurrentUser) -> None:
    """Refuse a state-changing request without this session's CSRF token (form field or X-CSRF-Token)."""
    if request.method in READ_METHODS:
        return
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not _same_origin(request) or not csrf_token_is_valid(request, token):
        raise CsrfFailed(
            "This form has expired or did not come from this site. Go back, reload the page and try again."
        )


CsrfChecked = Annotated[None, Depends(verify_csrf)]


def _login_required(request: Request) -> LoginRequired:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in READ_METHODS:
        target = request.url.path  # after login, come back to the page, not to a replayed POST
    return LoginRequired(target)


@dataclass
class ManagerContext:
    """A workspace member on one of the workspace's programs."""

    user: User
    member: Member
    program: Program
    programs: list[Program]
    session: Session
    request: Request | None = field(default=None, repr=False)

    @property
    def role(self) -> Role:
        return Role(self.member.role)

    @property
    def can_act(self) -> bool:
        return self.role.can_act

    @property
    def can_administer(self) -> bool:
        return self.role.can_administer

    def url(self, path: str, **params: object) -> str:
        """A dashboard URL on this program, e.g. ctx.url("/manage/partners", status="pending")."""
        query = {"program": self.program.id, **{key: value for key, value in params.items() if value not in (None, "")}}
        return f"{path}?{urlencode(query)}"


def manager_context(
    request: Request, session: DbSession, user: CurrentUser, program: str | None = None
) -> ManagerContext:
    """The logged-in member and the program chosen by `?program=` (default: their first program).

    Not logged in: redirect to /login. Not on any team: 403. A program outside their workspaces: 404.
    """
    if user is None:
        raise _login_required(request)
    rows = repository.programs_of_member(session, user.id)
    if not rows:
        if repository.is_partner(session, user.id):
            raise PageForbidden("This page is for a program's team. Your partner pages are at /partner.")
        raise PageForbidden("You are not on the team of any program.")
    chosen = rows[0]
    if program:
        match = next((row for row in rows if row[0].id == program), None)
        if match is None:
            raise PageNotFound("No such program.")
        chosen = match
    context = ManagerContext(
        user=user,
        member=chosen[1],
        program=chosen[0],
        programs=[row[0] for row in rows],
        session=session,
        request=request,
    )
    request.state.nav = {"kind": "manage", "ctx": context}
    return context


def manager_action_context(
    ctx: Annotated[ManagerContext, Depends(manager_context)], _csrf: CsrfChecked
) -> ManagerContext:
    if not ctx.can_act:
        raise PageForbidden("Your role (viewer) can read this program but not change it.")
    return ctx


def manager_admin_context(
    ctx: Annotated[ManagerContext, Depends(manager_context)], _csrf: CsrfChecked
) -> ManagerContext:
    if not ctx.can_administer:
        raise PageForbidden(f"Only owners and admins can do this; your role is {ctx.role.value}.")
    return ctx


ManagerPage = Annotated[ManagerContext, Depends(manager_context)]
ManagerAction = Annotated[ManagerContext, Depends(manager_action_context)]
ManagerAdmin = Annotated[ManagerContext, Depends(manager_admin_context)]


@dataclass
class PartnerContext:
    """A partner user in one of their programs (`?program=` chooses among their enrollments)."""

    user: User
    partner: Partner
    enrollment: Enrollment
    program: Program
    session: Session
    enrollments: list[tuple[Partner, Enrollment, Program]] = field(default_factory=list)

    def url(self, path: str, **params: object) -> str:
        query = {"program": self.program.id, **{key: value for key, value in params.items() if value not in (None, "")}}
        return f"{path}?{urlencode(query)}"


def partner_context(
    request: Request, session: DbSession, user: CurrentUser, program: str | None = None
) -> PartnerContext:
    """Not logged in: redirect to /login. No partner account: 404. A program they are not in: 404."""
    if user is None:
        raise _login_required(request)
    rows = repository.enrollments_of_user(session, user.id)
    if not rows:
        awaiting = repository.unlinked_enrollments_by_email(session, user.email) if not user.email_verified_at else []
        if awaiting:
            applied_to, status = awaiting[0]
            said = "is approved" if status == "approved" else "is under review" if status == "pending" else "exists"
            raise EmailNotConfirmed(
                f"Your application to {applied_to.name} {said}, but your email address is not confirmed yet. "
                f"Open the link in the confirmation email we sent to {user.email}, then come back."
            )
        raise PageNotFound("There is no partner account for this login.")
    chosen = rows[0]
    if program:
        match = next((row for row in rows if row[2].id == program), None)
        if match is None:
            raise PageNotFound("No such program among yours.")
        chosen = match
    context = PartnerContext(
        user=user, partner=chosen[0], enrollment=chosen[1], program=chosen[2], session=session, enrollments=rows
    )
    request.state.nav = {"kind": "partner", "ctx": context}
    return context


PartnerPage = Annotated[PartnerContext, Depends(partner_context)]
