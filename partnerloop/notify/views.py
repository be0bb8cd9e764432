"""The one unsubscribe address of every email list (notify/unsubscribe.py): GET shows what it stops with a
button; POST stops it. The POST needs no CSRF token: the signed scope is the authority, and mail clients
send RFC 8058's one-click POST (body `List-Unsubscribe=One-Click`) without a page or cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.db import transaction
from partnerloop.deps import DbSession
from partnerloop.models import Program
from partnerloop.notify import unsubscribe
from partnerloop.notify.kinds import BY_KEY, parse_scope
from partnerloop.web.forms import settings_of
from partnerloop.web.pages import PageNotFound, render

router = APIRouter(include_in_schema=False)

INVALID = "This unsubscribe link is not valid (it may be cut short): use the link in the email as it is."


def _what(scope: str) -> str:
    found = parse_scope(scope)
    if found is not None:
        return f"emails about “{BY_KEY[found[1]].label.lower()}”"
    return "newsletters"


def _checked(request: Request, s: str, t: str) -> None:
    if not s or not t or not unsubscribe.is_signed(settings_of(request).secret_key, s, t):
        raise PageNotFound(INVALID)


@router.get(unsubscribe.PATH)
def unsubscribe_page(request: Request, session: DbSession, s: str = "", t: str = "") -> Response:
    _checked(request, s, t)
    program = unsubscribe.target(session, s)
    if program is None:
        raise PageNotFound(INVALID)
    return render(request, "notify/unsubscribe.html", {"program": program, "what": _what(s), "done": False})


@router.post(unsubscribe.PATH)
def unsubscribe_now(request: Request, s: str = "", t: str = "") -> Response:
    """One click: from the page's button or a mail client's RFC 8058 POST. Its own writing transaction."""
    _checked(request, s, t)
    with transaction(request.app.state.engine) as session:
        program: Program | None = unsubscribe.stop(session, s)
        name = program.name if program is not None else None
    if name is None:
        raise PageNotFound(INVALID)
    return render(request, "notify/unsubscribe.html", {"program": {"name": name}, "what": _what(s), "done": True})
