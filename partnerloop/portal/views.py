"""Pages: /login, /logout and the manager's overview (the full portals come with their own issue)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from partnerloop.deps import DbSession
from partnerloop.kit.crypto import verify_password
from partnerloop.kit.money import format_money
from partnerloop.kit.time import utc_now
from partnerloop.portal import repository
from partnerloop.portal import session as login_cookie
from partnerloop.portal.charts import bar_chart_svg, daily_series

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
templates.env.globals["money"] = format_money

PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
OVERVIEW_DAYS = 30


def _page(request: Request, name: str, context: dict[str, object], status_code: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


def _user_id(request: Request) -> str | None:
    secret = request.app.state.settings.secret_key
    return login_cookie.verify(secret, request.cookies.get(login_cookie.COOKIE_NAME))


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/dashboard" if _user_id(request) else "/login", status_code=303)


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html", {"error": None, "email": None})


@router.post("/login")
def login(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    user = repository.user_by_email(session, email.strip().lower())
    if user is None or not user.password_hash or not verify_password(user.password_hash, password):
        return _page(request, "login.html", {"error": "Email or password is wrong.", "email": email}, 401)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        login_cookie.COOKIE_NAME,
        login_cookie.sign(request.app.state.settings.secret_key, user.id),
        max_age=login_cookie.MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(login_cookie.COOKIE_NAME)
    return response


@router.get("/dashboard")
def dashboard(request: Request, session: DbSession, program: str | None = None) -> Response:
    user_id = _user_id(request)
    if user_id is None:
        return RedirectResponse("/login", status_code=303)
    programs = repository.programs_of_user(session, user_id)
    chosen = next((item for item in programs if item.id == program), programs[0] if programs else None)
    if chosen is None:
        return _page(request, "not_found.html", {"message": "You are not a member of any program yet."}, 404)
    now = utc_now()
    since = now - timedelta(days=OVERVIEW_DAYS - 1)
    overview = repository.overview(session, chosen.id, since.replace(hour=0, minute=0, second=0, microsecond=0))
    series = daily_series(overview.clicks_by_day, since.date(), now.date())
    conversion = f"{overview.sales * 100 / overview.clicks:.1f}%" if overview.clicks else "–"
    user_email = repository.user_email(session, user_id)
    return _page(
        request,
        "dashboard.html",
        {
            "programs": programs,
            "program": chosen,
            "overview": overview,
            "days": OVERVIEW_DAYS,
            "conversion": conversion,
            "chart": bar_chart_svg(series, title="Clicks per day"),
            "user_email": user_email,
        },
    )
