"""HTML plumbing shared by every page: the Jinja environment, `render`, security headers, CSRF.

CSRF tokens are HMACs under SECRET_KEY: bound to the login session (so they change when the session
is rotated at login), or before login to a random `pl_csrf` cookie. A form posted from another site
carries neither the cookie's secret nor the session's, and SameSite=Lax keeps the cookies home.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from babel import Locale, UnknownLocaleError
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partnerloop.kit.errors import AppError
from partnerloop.kit.money import display_money
from partnerloop.kit.time import format_day, format_moment

TEMPLATES_DIR = Path(__file__).parent.parent / "templates"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ANON_CSRF_COOKIE = "pl_csrf"
NOTICE_COOKIE = "pl_notice"
SECURE_ANON_CSRF_COOKIE = "__Host-pl_csrf"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def content_security_policy(image_origins: Iterable[str] = ()) -> str:
    """The pages' policy; `image_origins` (from kit.urls.image_origin: scheme://host[:port], nothing else) are
    allowed as image sources too, for a page that shows the merchant's own logo or banners."""
    if not image_origins:
        return CONTENT_SECURITY_POLICY  # every page but those few
    extra = "".join(f" {origin}" for origin in sorted(set(image_origins)))
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:;", f"img-src 'self' data:{extra};")


HSTS = "max-age=63072000; includeSubDomains"
# on every response (SecurityHeadersMiddleware, apply_security_headers, the raw-ASGI /healthz)
EVERY_RESPONSE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

DEFAULT_LOCALE = "en"


@lru_cache(maxsize=256)
def negotiate_locale(accept_language: str) -> str:
    """The first locale Babel knows in an Accept-Language header, by q-weight ('de-DE,de;q=0.9' -> 'de_DE'),
    else 'en'."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language[:300].split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    for _quality, _position, tag in sorted(weighted):
        try:
            return str(Locale.parse(tag.replace("_", "-"), sep="-"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return DEFAULT_LOCALE


def viewer_locale(request: Request) -> str:
    """The locale figures are written in for this viewer: from Accept-Language, falling back to English."""
    return negotiate_locale(request.headers.get("accept-language", ""))


def money_formatter(request: Request) -> Callable[[int, str], str]:
    """`(amount, currency) -> text` in the viewer's locale, for figures a view composes itself."""
    locale = viewer_locale(request)
    return lambda amount, currency: display_money(amount, currency, locale)


@pass_context
def money(context: Any, amount: int, currency: str) -> str:
    """`{{ money(amount, currency) }}` on every page: Babel, in the viewer's locale ('$1,234.50', '1.234,50 €')."""
    request = context.get("request")
    locale = viewer_locale(request) if request is not None else DEFAULT_LOCALE
    return display_money(amount, currency, locale)


templates.env.globals["money"] = money
templates.env.filters["day"] = format_day  # {{ when|day }}: '4 Dec 2026'
templates.env.filters["moment"] = format_moment  # {{ when|moment }}: '4 Dec 2026, 14:05 UTC'


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


@dataclass(frozen=True)
class UserView:
    """What pages show of the logged-in user: plain values, usable after the request's transaction."""

    id: str
    email: str
    name: str | None


def remember_user(request: Request, user: Any) -> None:
    request.state.user = user
    request.state.user_view = UserView(user.id, user.email, user.name) if user is not None else None


# ----------------------------------------------------------------------------------------- CSRF


def _csrf_secret(request: Request) -> str:
    secret: str = request.app.state.settings.secret_key
    return secret


def _anon_cookie_name(request: Request) -> str:
    return SECURE_ANON_CSRF_COOKIE if is_https(request) else ANON_CSRF_COOKIE


def _csrf_binding(request: Request) -> str:
    """What the token is bound to: the login session's hash, else the anonymous cookie (made if needed)."""
    session_hash = getattr(request.state, "session_token_hash", None)
    if session_hash:
        return f"session:{session_hash}"
    seed = getattr(request.state, "new_csrf_cookie", None) or request.cookies.get(_anon_cookie_name(request))
    if not seed or len(seed) < 20:
        seed = request.state.new_csrf_cookie = secrets.token_urlsafe(24)
    return f"anon:{seed}"


def csrf_token(request: Request) -> str:
    """The token that this request's forms must send back."""
    binding = _csrf_binding(request)
    return hmac.new(_csrf_secret(request).encode(), binding.encode(), hashlib.sha256).hexdigest()


def csrf_token_is_valid(request: Request, token: str | None) -> bool:
    if not token:
        return False
    # Logged in: only the session's token (a form from before login is stale); else the anonymous one.
    session_hash = getattr(request.state, "session_token_hash", None)
    seed = request.cookies.get(_anon_cookie_name(request))
    if session_hash:
        bindings = [f"session:{session_hash}"]
    elif seed and len(seed) >= 20:
        bindings = [f"anon:{seed}"]
    else:
        return False
    secret = _csrf_secret(request).encode()
    return any(
        hmac.compare_digest(token, hmac.new(secret, binding.encode(), hashlib.sha256).hexdigest())
        for binding in bindings
    )


@pass_context
def csrf_input(context: Any) -> Markup:
    """`{{ csrf_input() }}` inside every form that changes something."""
    request: Request = context["request"]
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(request))


@pass_context
def csrf_value(context: Any) -> str:
    return csrf_token(context["request"])


templates.env.globals["csrf_input"] = csrf_input
templates.env.globals["csrf_token"] = csrf_value


# -------------------------------------------------------------------------------------- render


def apply_security_headers(request: Request, response: Any, image_origins: Iterable[str] = ()) -> None:
    response.headers["Content-Security-Policy"] = content_security_policy(image_origins)
    response.headers.update(EVERY_RESPONSE_HEADERS)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    if is_https(request):
        response.headers["Strict-Transport-Security"] = HSTS


def _attach_csrf_cookie(request: Request, response: Any) -> None:
    seed = getattr(request.state, "new_csrf_cookie", None)
    if seed:
        response.set_cookie(
            _anon_cookie_name(request),
            seed,
            httponly=True,
            samesite="lax",
            secure=is_https(request),
            path="/",
        )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    *,
    image_origins: Iterable[str] = (),
) -> HTMLResponse:
    """Render a page (templates extend base.html) with the user, CSRF and security headers; `image_origins`
    are the outside hosts its images may come from (see content_security_policy)."""
    notice = request.cookies.get(NOTICE_COOKIE)
    values: dict[str, Any] = {
        "current_user": getattr(request.state, "user_view", None),
        "nav": getattr(request.state, "nav", None),
        "notice": unquote(notice)[:300] if notice else None,
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    apply_security_headers(request, response, image_origins)
    _attach_csrf_cookie(request, response)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def redirect(request: Request, url: str, *, notice: str | None = None, status_code: int = 303) -> RedirectResponse:
    """A redirect after a form (303: the browser follows with GET); `notice` is shown once on the next page."""
    response = RedirectResponse(url, status_code=status_code)
    apply_security_headers(request, response)
    if notice:
        response.set_cookie(
            NOTICE_COOKIE, quote(notice[:300]), httponly=True, samesite="lax", path="/", secure=is_https(request)
        )
    return response


# --------------------------------------------------------------------------------- page errors


class PageError(AppError):
    """An error raised by an HTML page: rendered as a page with the message, never as JSON."""


class PageNotFound(PageError):
    status_code = 404


class PageForbidden(PageError):
    status_code = 403


class CsrfFailed(PageForbidden):
    pass


class TooManyAttempts(PageError):
    status_code = 429


class EmailNotConfirmed(PageForbidden):
    """A partner page for a login whose address is not confirmed yet: the page offers to resend the email."""

    resend_verification = True


class LoginRequired(Exception):
    """Raised by page dependencies: answered with a redirect to /login?next=…"""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def render_page_error(request: Request, error: AppError) -> HTMLResponse:
    """The error as a page. The request's transaction is over: only plain values may be shown (no nav)."""
    titles = {403: "Not allowed", 404: "Not found", 429: "Too many attempts"}
    resend = bool(getattr(error, "resend_verification", False))
    context = {
        "title": "Confirm your email address" if resend else titles.get(error.status_code, "Something is wrong"),
        "message": error.message,
        "nav": None,
        "resend_verification": resend,
    }
    return render(request, "account/error.html", context, status_code=error.status_code)


# ------------------------------------------------------------------------------ header middleware


class SecurityHeadersMiddleware:
    """nosniff and Referrer-Policy on every response, HSTS over https, and for HTML pages the CSP and
    frame protection when the page did not set them itself (pages rendered by `render` always do)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in EVERY_RESPONSE_HEADERS.items():
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
                is_html = headers.get("content-type", "").startswith("text/html")
                if is_html:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_page_handlers(api: Any) -> None:
    """Page errors render as pages; LoginRequired redirects to /login?next=…"""
    from urllib.parse import urlencode

    @api.exception_handler(PageError)
    async def _page_error(request: Request, error: PageError) -> HTMLResponse:
        return render_page_error(request, error)

    @api.exception_handler(LoginRequired)
    async def _login_required(request: Request, error: LoginRequired) -> RedirectResponse:
        return redirect(request, "/login?" + urlencode({"next": error.next_url}))

    # A browser on a page path gets a page for any error, never the API's JSON: an unknown /manage/... path
    # (Starlette's 404) or a domain error a page did not turn into a PageError (an unknown webhook id).
    from starlette.exceptions import HTTPException as StarletteHTTPException

    for caught in (AppError, StarletteHTTPException):
        as_json = api.exception_handlers[caught]

        async def _as_page(request: Request, error: Exception, as_json: Any = as_json) -> Any:
            if not wants_page(request):
                return await as_json(request, error)
            if isinstance(error, AppError):
                return render_page_error(request, error)
            status = int(getattr(error, "status_code", 500))
            message = "There is no such page." if status == 404 else str(getattr(error, "detail", "")) or "Error."
            return render_page_error(request, AppError(message, status))

        api.add_exception_handler(caught, _as_page)


def wants_page(request: Request) -> bool:
    """A browser asking for a page (HTML accepted, outside the API): errors are shown as pages."""
    path = request.url.path
    if path.startswith(("/api/", "/openapi.json", "/healthz", "/metrics")):
        return False
    return "text/html" in request.headers.get("accept", "")
