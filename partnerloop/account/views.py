"""Account pages: login, logout, sign-up, password reset, email verification, invitations, own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partnerloop.account import ratelimit, repository, service
from partnerloop.account.deps import CsrfChecked, CurrentUser
from partnerloop.account.rules import landing_page, safe_next
from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.deps import DbSession
from partnerloop.kit.errors import AppError
from partnerloop.kit.ids import sha256_hex
from partnerloop.kit.time import utc_now
from partnerloop.models import Program, User
from partnerloop.notify import service as notify_service
from partnerloop.notify.kinds import Audience
from partnerloop.notify.recipients import MANAGING_ROLES
from partnerloop.web.forms import PostedForm, texts
from partnerloop.web.pages import LoginRequired, PageError, TooManyAttempts, redirect, render

router = APIRouter(include_in_schema=False)

FormText = Annotated[str, Form()]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _limiter(request: Request) -> ratelimit.AttemptLimiter:
    limiter: ratelimit.AttemptLimiter | None = getattr(request.app.state, "attempt_limiter", None)
    if limiter is None:
        limiter = request.app.state.attempt_limiter = ratelimit.AttemptLimiter(_settings(request))
    return limiter


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _landing(session: DbSession, user: User) -> str:
    return landing_page(repository.is_member(session, user.id), repository.is_partner(session, user.id))


@router.get("/")
def home(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return redirect(request, _landing(session, user) if user else "/login")


# ------------------------------------------------------------------------------------------ login


@router.get("/login")
def login_form(request: Request, session: DbSession, user: CurrentUser, next: str | None = None) -> Response:
    if user is not None:
        return redirect(request, safe_next(next, _landing(session, user)))
    return render(request, "account/login.html", {"error": None, "email": "", "next": next or ""})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    _csrf: CsrfChecked,
    email: FormText = "",
    password: FormText = "",
    next: FormText = "",
) -> Response:
    context = {"email": email, "next": next}
    limiter, ip = _limiter(request), _client_ip(request)
    if not limiter.login_allowed(ip=ip, account=email):
        error = "Too many login attempts. Wait 15 minutes, or reset your password."
        return render(request, "account/login.html", {**context, "error": error}, status_code=429)
    try:
        user = service.authenticate(session, email, password)
    except service.InvalidCredentials as failure:
        limiter.login_failed(ip=ip)
        return render(request, "account/login.html", {**context, "error": failure.message}, status_code=401)
    limiter.login_succeeded(ip=ip, account=email)
    response = redirect(request, "/")  # the target is set below, once the session exists
    service.start_session(response, session, user, request)
    response.headers["location"] = safe_next(next, _landing(session, user))
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, _csrf: CsrfChecked) -> Response:
    response = redirect(request, "/login", notice="You are logged out.")
    service.end_session(response, session, request)
    return response


@router.get("/logout")
def logout_confirm(request: Request, user: CurrentUser) -> Response:
    """A page asking to confirm with a button that posts (with the CSRF token): a GET never logs out, so an
    image or link on another site cannot end the session. Not logged in: on to /login."""
    if user is None:
        return redirect(request, "/login")
    return render(request, "account/logout.html", {})


@router.get("/dashboard")
def dashboard() -> Response:
    return RedirectResponse("/manage", status_code=303)


# ---------------------------------------------------------------------------------------- sign-up


@router.get("/signup")
def signup_form(request: Request, user: CurrentUser) -> Response:
    return render(request, "account/signup.html", {"error": None, "values": {}})


@router.post("/signup")
def signup(
    request: Request,
    session: DbSession,
    _csrf: CsrfChecked,
    name: FormText = "",
    email: FormText = "",
    password: FormText = "",
    company: FormText = "",
    domain: FormText = "",
) -> Response:
    values = {"name": name, "email": email, "company": company, "domain": domain}
    try:
        with session.begin_nested():
            user = service.sign_up(
                session,
                settings=_settings(request),
                name=name,
                email=email,
                password=password,
                company=company,
                domain=domain,
            )
    except AppError as error:
        return render(
            request, "account/signup.html", {"error": error.message, "values": values}, status_code=error.status_code
        )
    response = redirect(request, "/manage", notice="Welcome! We sent you an email to confirm your address.")
    service.start_session(response, session, user, request)
    return response


# ---------------------------------------------------------------------------------- password reset


@router.get("/forgot")
def forgot_form(request: Request, user: CurrentUser) -> Response:
    return render(request, "account/forgot.html", {"error": None, "sent": False, "email": ""})


@router.post("/forgot")
def forgot(request: Request, session: DbSession, _csrf: CsrfChecked, email: FormText = "") -> Response:
    if not _limiter(request).allow(ratelimit.PASSWORD_RESET, ip=_client_ip(request), account=email):
        error = "Too many reset requests. Wait an hour, then try again."
        return render(request, "account/forgot.html", {"error": error, "sent": False, "email": email}, status_code=429)
    service.request_password_reset(session, _settings(request), email)
    # The same answer whether or not the address has an account: no one learns who is registered.
    return render(request, "account/forgot.html", {"error": None, "sent": True, "email": email})


@router.get("/reset/{token}")
def reset_form(request: Request, session: DbSession, user: CurrentUser, token: str) -> Response:
    try:
        service.check_reset_token(session, token)
    except AppError as error:
        return render(
            request, "account/reset.html", {"error": error.message, "token": None}, status_code=error.status_code
        )
    return render(request, "account/reset.html", {"error": None, "token": token})


@router.post("/reset/{token}")
def reset(
    request: Request,
    session: DbSession,
    _csrf: CsrfChecked,
    token: str,
    password: FormText = "",
    confirm: FormText = "",
) -> Response:
    if not _limiter(request).allow(ratelimit.PASSWORD_RESET, ip=_client_ip(request), account=f"token:{token[:16]}"):
        return render(request, "account/reset.html", {"error": "Too many attempts.", "token": token}, status_code=429)
    if password != confirm:
        return render(
            request, "account/reset.html", {"error": "The two passwords differ.", "token": token}, status_code=422
        )
    try:
        with session.begin_nested():
            service.reset_password(session, token=token, password=password)
    except AppError as error:
        still_valid = not isinstance(error, service.InvalidLink)
        context = {"error": error.message, "token": token if still_valid else None}
        return render(request, "account/reset.html", context, status_code=error.status_code)
    return redirect(request, "/login", notice="Your password is changed. Log in with the new one.")


# ---------------------------------------------------------------------------------- verification


@router.get("/verify/{token}")
def verify(request: Request, token: str) -> Response:
    """Opened from the email: a GET that writes, so it runs its own writing transaction."""
    try:
        with transaction(request.app.state.engine) as session:
            service.verify_email(session, token)
    except AppError as error:
        raise PageError(error.message, error.status_code) from error
    return redirect(request, "/", notice="Your email address is confirmed.")


@router.post("/account/verify")
def resend_verification(request: Request, session: DbSession, user: CurrentUser, _csrf: CsrfChecked) -> Response:
    if user is None:
        raise LoginRequired("/account")
    if user.email_verified_at is None:
        if not _limiter(request).allow(ratelimit.PASSWORD_RESET, ip=_client_ip(request), account=user.email):
            raise TooManyAttempts("Too many emails asked for. Wait an hour.")
        service.send_verification(session, user, _settings(request))
    return redirect(request, "/account", notice="We sent you a new confirmation email.")


# ------------------------------------------------------------------------------------ own account


def _notified_programs(session: DbSession, user: User) -> list[tuple[Program, Audience]]:
    """The programs whose notifications the user chooses: on the team (not as a viewer) and as a partner."""
    team = [
        (program, Audience.MANAGER)
        for program, member in repository.programs_of_member(session, user.id)
        if member.role in MANAGING_ROLES
    ]
    partner = [(program, Audience.PARTNER) for _p, _e, program in repository.enrollments_of_user(session, user.id)]
    return list(dict.fromkeys(team + partner))


def _account_page(
    request: Request, session: DbSession, user: User, error: str | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "account/account.html",
        {
            "user": user,
            "error": error,
            "is_member": repository.is_member(session, user.id),
            "is_partner": repository.is_partner(session, user.id),
            "awaiting": service.programs_awaiting_confirmation(session, user),
            "notifications": notify_service.choices_of(session, user.email, _notified_programs(session, user)),
        },
        status_code=status_code,
    )


@router.get("/account")
def account_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    if user is None:
        raise LoginRequired("/account")
    return _account_page(request, session, user)


@router.post("/account/password")
def account_password(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    _csrf: CsrfChecked,
    current: FormText = "",
    password: FormText = "",
    confirm: FormText = "",
) -> Response:
    if user is None:
        raise LoginRequired("/account")
    if password != confirm:
        return _account_page(request, session, user, "The two new passwords differ.", 422)
    try:
        with session.begin_nested():
            service.change_password(session, user, current=current, new=password)
    except AppError as error:
        return _account_page(request, session, user, error.message, error.status_code)
    # Other browsers logged in with the old password are logged out; this one gets a fresh session.
    repository.end_sessions_of_user(session, user.id, utc_now())
    response = redirect(request, "/account", notice="Your password is changed.")
    service.start_session(response, session, user, request)
    return response


@router.post("/account/profile")
def account_profile(
    request: Request, session: DbSession, user: CurrentUser, _csrf: CsrfChecked, name: FormText = ""
) -> Response:
    if user is None:
        raise LoginRequired("/account")
    service.update_profile(session, user, name=name)
    return redirect(request, "/account", notice="Saved.")


@router.post("/account/notifications")
def account_notifications(
    request: Request, session: DbSession, user: CurrentUser, _csrf: CsrfChecked, form: PostedForm
) -> Response:
    """The notification choices: every box of the page, ticked (on) or not (off)."""
    if user is None:
        raise LoginRequired("/account")
    try:
        with session.begin_nested():
            notify_service.save_choices(
                session, user.email, _notified_programs(session, user), set(texts(form, "notify")), utc_now()
            )
    except AppError as error:
        return _account_page(request, session, user, error.message, error.status_code)
    return redirect(request, "/account#notifications", notice="Your email choices are saved.")


# ------------------------------------------------------------------------------------- invitations


@router.get("/invite/{token}")
def invitation_page(request: Request, session: DbSession, user: CurrentUser, token: str) -> Response:
    try:
        invitation = service.open_invitation(session, token)
    except AppError as error:
        raise PageError(error.message, error.status_code) from error
    has_account = repository.user_by_email(session, invitation.email) is not None
    return render(
        request,
        "account/invite.html",
        {"invitation": invitation, "token": token, "has_account": has_account, "error": None, "name": ""},
    )


@router.post("/invite/{token}")
def accept_invitation(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    _csrf: CsrfChecked,
    token: str,
    name: FormText = "",
    password: FormText = "",
) -> Response:
    try:
        with session.begin_nested():
            accepted, invitation, created = service.accept_invitation(
                session, token=token, current_user=user, name=name, password=password
            )
    except service.LoginToAccept:
        raise LoginRequired(f"/invite/{token}") from None
    except service.InvalidLink as error:
        raise PageError(error.message, error.status_code) from error
    except AppError as error:
        found = repository.invitation_by_hash(session, sha256_hex(token))
        has_account = found is not None and repository.user_by_email(session, found.email) is not None
        context = {
            "invitation": found,
            "token": token,
            "has_account": has_account,
            "error": error.message,
            "name": name,
        }
        return render(request, "account/invite.html", context, status_code=error.status_code)
    if invitation.kind == "member":
        target = f"/manage?program={repository.first_program_id(session, invitation.workspace_id) or ''}"
    else:
        target = f"/partner?program={invitation.program_id}"
    response = redirect(request, target, notice="Welcome aboard!")
    if created:
        service.start_session(response, session, accepted, request)
    return response
