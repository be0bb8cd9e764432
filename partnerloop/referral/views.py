"""The referral pages of ours: the friend's share page (/r/{key}), the widget script, its JSON data
endpoint (CORS for the merchant's origins), and the hosted advocate page for merchants who embed nothing."""

from __future__ import annotations

import gzip
import hashlib
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.errors import error_response
from partnerloop.models import Program
from partnerloop.partner_portal.service import application as portal_application
from partnerloop.program import service as program_service
from partnerloop.referral import service
from partnerloop.referral.rules import friend_offer, offer_sentence
from partnerloop.tracking.link_rules import cookie_click_id
from partnerloop.tracking.rules import origin_allowed
from partnerloop.web.pages import PageNotFound, templates

router = APIRouter(include_in_schema=False)

WIDGET = (Path(__file__).resolve().parent.parent / "static" / "referral-widget.js").read_bytes()
WIDGET_GZIP = gzip.compress(WIDGET, 9)
WIDGET_ETAG = '"' + hashlib.sha256(WIDGET).hexdigest()[:16] + '"'
DEFAULT_BRAND = "#2454c5"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _brand(session: Any, program: Program) -> str:
    form = portal_application.application_form(session, program.id)
    color = form.brand_color if form is not None else DEFAULT_BRAND
    return color if _COLOR.match(color) else DEFAULT_BRAND  # it goes into a style sheet


@router.get("/r/{share_key}", response_class=HTMLResponse)
def share_page(request: Request, share_key: str) -> Response:
    """The friend's landing page: the offer in the program's branding, then on to /go/{key} (which records
    the click and reaches the destination with pl_cid, like a partner link)."""
    with transaction(request.app.state.engine, writes=False) as session:
        advocate = service.advocate_by_share_key(session, share_key)
        program = session.get(Program, advocate.program_id) if advocate is not None else None
        if advocate is None or program is None:
            raise PageNotFound("This referral link does not exist.")
        rewards = service.reward_settings(program)
        brand = _brand(session, program)
        continue_url = service.continue_path(
            session, advocate, cookie_click_id(request.headers.get("cookie", "").encode())
        )
    name = advocate.name or advocate.email.split("@", 1)[0]
    headline = friend_offer(rewards, name, program.currency)
    nonce = secrets.token_urlsafe(12)
    response = templates.TemplateResponse(
        request,
        "referral/share.html",
        {
            "program": program,
            "headline": headline,
            "advocate_name": name,
            "brand": brand,
            "nonce": nonce,
            "continue_url": continue_url,
            "trigger": rewards.trigger if rewards else None,
        },
    )
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/js/referral-widget.js")
def widget_script(request: Request) -> Response:
    headers = {
        "Cache-Control": "public, max-age=3600, stale-while-revalidate=86400",
        "ETag": WIDGET_ETAG,
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == WIDGET_ETAG:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            WIDGET_GZIP, media_type="application/javascript", headers={**headers, "Content-Encoding": "gzip"}
        )
    return Response(WIDGET, media_type="application/javascript", headers=headers)


def _nothing(cors: dict[str, str]) -> JSONResponse:
    # The same answer for an unknown key, customer or a wrong token: it tells nothing.
    response = error_response(404, "NotFound", "Nothing to show.")
    response.headers.update(cors)
    return response


def widget_payload(settings: Settings, view: service.WidgetView) -> dict[str, Any]:
    program, advocate = view.program, view.advocate
    url = service.share_url(settings, advocate)
    name = advocate.name or advocate.email.split("@", 1)[0]
    text = f"{friend_offer(view.settings, name, program.currency)} at {program.name}"
    encoded = quote(url, safe="")
    return {
        "program": {"name": program.name, "currency": program.currency},
        "advocate": {"name": advocate.name, "referral_code": advocate.referral_code, "share_url": url},
        "offer": offer_sentence(view.settings, program.currency) if view.settings else None,
        "share_text": text,
        "share": {
            "email": "mailto:?" + urlencode({"subject": text, "body": f"{text}: {url}"}, quote_via=quote),
            "x": "https://twitter.com/intent/tweet?" + urlencode({"text": text, "url": url}, quote_via=quote),
            "linkedin": f"https://www.linkedin.com/sharing/share-offsite/?url={encoded}",
            "whatsapp": "https://wa.me/?" + urlencode({"text": f"{text}: {url}"}, quote_via=quote),
            "facebook": f"https://www.facebook.com/sharer/sharer.php?u={encoded}",
        },
        "referrals": [
            {
                "joined_at": referral.created_at.isoformat(),
                "status": "purchased"
                if referral.sales_count
                else ("signed up" if referral.first_lead_at else "visited"),
            }
            for referral in view.referrals
        ],
        "rewards": [
            {
                "side": reward.side,
                "type": reward.type,
                "amount": reward.amount,
                "currency": reward.currency,
                "percent": reward.percent,
                "status": reward.status,
                "code": reward.code if reward.side == "referrer" and reward.status == "issued" else None,
                "created_at": reward.created_at.isoformat(),
            }
            for reward in view.rewards
            if reward.side == "referrer"
        ],
    }


@router.get("/api/v1/referral-widget")
def widget_data(request: Request, key: str = "", customer: str = "", token: str = "") -> Response:
    """The widget's data: `?key=<publishable key>&customer=<external id>&token=<hex HMAC>`; CORS for
    the program's allowed origins (a request without Origin is same-origin: the hosted page)."""
    origin = request.headers.get("origin")
    cors: dict[str, str] = {"Vary": "Origin", "Cache-Control": "no-store"}
    with transaction(request.app.state.engine, writes=False) as session:
        program = program_service.program_by_publishable_key(session, key) if key else None
        if program is None or not customer or len(customer) > 200:
            return _nothing(cors)
        if origin is not None:
            if not origin_allowed(origin, list(program.allowed_domains)):
                return _nothing(cors)
            cors["Access-Control-Allow-Origin"] = origin
        view = service.widget_view(session, program, customer, token)
        if view is None:
            return _nothing(cors)
        payload = widget_payload(_settings(request), view)
    return JSONResponse(payload, headers=cors)


@router.get("/referrals/{program_id}/{customer}", response_class=HTMLResponse)
def hosted_page(request: Request, program_id: str, customer: str, token: str = "") -> Response:
    """The widget on a page of ours, for merchants who embed nothing: reached from a signed link they email."""
    with transaction(request.app.state.engine, writes=False) as session:
        program = session.get(Program, program_id) if len(program_id) <= 26 else None
        if program is None or service.widget_view(session, program, customer, token) is None:
            raise PageNotFound("This page does not exist.")
        brand = _brand(session, program)
    response = templates.TemplateResponse(
        request,
        "referral/hosted.html",
        {"program": program, "customer": customer, "token": token, "brand": brand},
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
