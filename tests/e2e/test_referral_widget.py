"""The referral widget in real Chromium at phone size: the merchant's page on a second loopback origin
(127.0.0.2), Partnerloop on 127.0.0.1. The widget renders in a shadow root the merchant's CSS cannot
reach, escapes what it shows, loads nothing from the internet, and shows nothing for a wrong token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.models import Program
from partnerloop.referral.rules import widget_token
from tests.conftest import ProgramKeys, make_program
from tests.e2e.conftest import PHONE, SCREENSHOTS
from tests.sites import merchant_site, served_partnerloop

MERCHANT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme account</title>
<style>* {{ color: red !important; font-size: 40px !important; }} button {{ display: none !important; }}</style></head>
<body><h1>Your account</h1><div id="partnerloop-referrals"></div>
<script src="{partnerloop}/js/referral-widget.js" data-key="{key}" data-customer="{customer}" data-token="{token}" async></script>
</body></html>"""


@dataclass
class Setup:
    partnerloop: str
    merchant: str
    program: ProgramKeys
    token: str
    pages: dict[str, str]


@pytest.fixture
def setup(engine: Engine, settings: Settings) -> Iterator[Setup]:
    program = make_program(engine, name="Acme <b>&amp;</b> Co", domains=("acme.test", "127.0.0.2"))
    pages: dict[str, str] = {}
    with transaction(engine, writes=False) as session:
        found = session.get(Program, program.id)
        assert found is not None and found.widget_secret
        token = widget_token(found.widget_secret, "cus_ada")
    with served_partnerloop(settings) as partnerloop, merchant_site("127.0.0.2", pages) as merchant_port:
        yield Setup(partnerloop, f"http://127.0.0.2:{merchant_port}", program, token, pages)


def _prepare(setup: Setup) -> dict[str, Any]:
    with httpx.Client(base_url=setup.partnerloop, headers=setup.program.headers) as api:
        rewards = {"trigger": "sale", "referrer": {"type": "credit", "amount": 2000},
                   "friend": {"type": "percent_off", "percent": 20, "duration_months": 3}}  # fmt: skip
        assert api.patch("/api/v1/program", json={"referral_rewards": rewards}).status_code == 200
        advocate = api.post(
            "/api/v1/advocates",
            json={"customer_external_id": "cus_ada", "email": "ada@example.com", "name": "Ada",
                  "destination_url": f"{setup.merchant}/welcome"},
        ).json()  # fmt: skip
        code = advocate["referral_code"]
        assert api.post(
            "/api/v1/track/lead", json={"referral_code": code, "customer_external_id": "cus_bob"}
        ).is_success
        sale = {"customer_external_id": "cus_bob", "amount": 5000, "currency": "usd", "invoice_id": "in_1"}
        assert api.post("/api/v1/track/sale", json=sale).is_success
    return dict(advocate)


def test_widget_on_the_merchants_page_at_phone_size(browser: Browser, setup: Setup) -> None:
    advocate = _prepare(setup)
    key = setup.program.publishable_key
    setup.pages["/account"] = MERCHANT_PAGE.format(
        partnerloop=setup.partnerloop, key=key, customer="cus_ada", token=setup.token
    )
    setup.pages["/wrong"] = MERCHANT_PAGE.format(
        partnerloop=setup.partnerloop, key=key, customer="cus_ada", token="0" * 64
    )
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=setup.merchant)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{setup.merchant}/account")
        page.wait_for_selector("#partnerloop-referrals[data-ready]", timeout=15000)
        widget = page.locator("#partnerloop-referrals")
        link = widget.get_by_label("Your referral link")
        assert link.input_value() == advocate["share_url"]
        heading = widget.get_by_role("heading", level=2)
        assert heading.text_content() == "Refer a friend to Acme <b>&amp;</b> Co"  # shown as text, never as HTML
        assert (
            page.evaluate("document.getElementById('partnerloop-referrals').shadowRoot.querySelectorAll('b').length")
            == 0
        )
        assert widget.get_by_role("button", name="Copy link").count() == 1
        copy = widget.locator("button")
        assert copy.is_visible()  # the merchant's `button { display: none !important }` does not reach it
        assert copy.evaluate("node => getComputedStyle(node).color") == "rgb(255, 255, 255)"
        # The merchant's `* { color: red !important; font-size: 40px !important }` stops at the widget's box.
        assert heading.evaluate("node => [getComputedStyle(node).color, getComputedStyle(node).fontSize]") == [
            "rgb(26, 26, 26)",
            "18.4px",
        ]
        share = {name: widget.get_by_role("link", name=f"Share on {name}").get_attribute("href") or "" for name in
                 ("Email", "X", "LinkedIn", "WhatsApp", "Facebook")}  # fmt: skip
        assert share["X"].startswith("https://twitter.com/intent/tweet?")
        assert share["Facebook"].startswith("https://www.facebook.com/sharer/sharer.php?u=")
        assert share["LinkedIn"].startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
        assert share["WhatsApp"].startswith("https://wa.me/?") and share["Email"].startswith("mailto:?")
        assert all(advocate["share_url"].replace(":", "%3A").replace("/", "%2F") in href for href in share.values())
        shown = page.evaluate("document.getElementById('partnerloop-referrals').shadowRoot.textContent")
        assert "Your referrals (1)" in shown and "$20.00 credit" in shown and "pending" in shown
        copy.click()
        page.wait_for_function(
            "document.getElementById('partnerloop-referrals').shadowRoot.querySelector('button').textContent === 'Copied'"
        )
        assert page.evaluate("navigator.clipboard.readText()") == advocate["share_url"]
        width = page.evaluate("document.getElementById('partnerloop-referrals').getBoundingClientRect().width")
        assert width <= PHONE["width"]  # readable on a phone: no horizontal overflow
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "referral-widget-phone.png"), full_page=True)
        assert all(url.startswith(("http://127.0.0.1", "http://127.0.0.2")) for url in requested), requested
        assert errors == []

        # The hosted page (a signed link the merchant emails) shows the same widget under our own CSP.
        page.goto(f"{setup.partnerloop}/referrals/{setup.program.id}/cus_ada?token={setup.token}")
        page.wait_for_selector("#partnerloop-referrals[data-ready]", timeout=15000)
        assert (
            page.locator("#partnerloop-referrals").get_by_label("Your referral link").input_value()
            == advocate["share_url"]
        )
        assert errors == []

        # A friend opens the share URL: the offer, then on by itself to the merchant with pl_cid.
        page.goto(advocate["share_url"])
        assert "Ada gave you 20% off for 3 months" in (page.text_content("h1") or "")
        page.wait_for_url(f"{setup.merchant}/welcome?pl_cid=*", timeout=15000)

        with page.expect_response(lambda response: "/api/v1/referral-widget?" in response.url) as answer:
            page.goto(f"{setup.merchant}/wrong")
        assert answer.value.status == 404
        page.wait_for_timeout(300)
        assert page.evaluate("document.getElementById('partnerloop-referrals').shadowRoot.childNodes.length") == 0
    finally:
        context.close()
