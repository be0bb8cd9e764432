"""Engagement's public pages: the unsubscribe link of newsletters, the program's public partners page."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from partnerloop.account.deps import CsrfChecked, render
from partnerloop.db import transaction
from partnerloop.deps import DbSession
from partnerloop.engagement import repository
from partnerloop.engagement.service import announcements, awards
from partnerloop.kit.time import utc_now
from partnerloop.models import Program
from partnerloop.web.forms import settings_of
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)


def _checked(request: Request, session: DbSession, program_id: str, partner_id: str, token: str) -> Program:
    expected = announcements.unsubscribe_token(settings_of(request).secret_key, program_id, partner_id)
    program = session.get(Program, program_id)
    if (
        program is None
        or not hmac.compare_digest(expected, token)
        or repository.enrollment(session, program_id, partner_id) is None
    ):
        raise PageNotFound("This unsubscribe link is not valid.")
    return program


@router.get("/unsubscribe/{program_id}/{partner_id}/{token}")
def unsubscribe_page(request: Request, session: DbSession, program_id: str, partner_id: str, token: str) -> Response:
    program = _checked(request, session, program_id, partner_id, token)
    return render(request, "engagement/unsubscribe.html", {"program": program, "done": False})


@router.post("/unsubscribe/{program_id}/{partner_id}/{token}")
def unsubscribe(
    request: Request, session: DbSession, _csrf: CsrfChecked, program_id: str, partner_id: str, token: str
) -> Response:
    """Turns off this program's newsletters for the partner; account emails (payouts, reviews) still come."""
    program = _checked(request, session, program_id, partner_id, token)
    announcements.newsletter_choice(session, program_id, partner_id, opt_out=True, now=utc_now())
    return render(request, "engagement/unsubscribe.html", {"program": program, "done": True})


@router.get("/news/click/{announcement_id}/{partner_id}")
def tracked_click(request: Request, announcement_id: str, partner_id: str, u: str = "", t: str = "") -> Response:
    """Count a partner's click on an announcement's link, then forward to it. Only signed links forward,
    so this is no open redirect."""
    expected = announcements.click_token(settings_of(request).secret_key, announcement_id, partner_id, u)
    if not u.lower().startswith(("http://", "https://")) or not hmac.compare_digest(expected, t):
        raise PageNotFound("This link is not valid.")
    with transaction(request.app.state.engine) as session:
        repository.mark_clicked(session, announcement_id, partner_id, utc_now())
    return RedirectResponse(u, status_code=302, headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})


@router.get("/programs/{program_id}/partners")
def public_partners(request: Request, session: DbSession, program_id: str) -> Response:
    program = session.get(Program, program_id)
    if program is None:
        raise PageNotFound("No such program.")
    return render(
        request,
        "engagement/public_partners.html",
        {"program": program, "partners": awards.public_page(session, program)},
    )
