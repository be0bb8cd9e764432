"""In Chromium, against a real server, a manager coming from Rewardful sets up Stripe and coupons without curl:
the webhook URL copied, the signing secret saved (never shown again), a Stripe event signed as Stripe signs it
arriving over HTTP and shown as the last event, the page's connection test, then a coupon for a partner."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import stripe
from playwright.sync_api import expect
from sqlalchemy import Engine

from tests.conftest import make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.e2e.test_partner_journey import OWNER, OWNER_PASSWORD, _log_in
from tests.integrations.stripe_kit import SECRET, new_event, stripe_object

pytestmark = pytest.mark.slow


def test_a_manager_connects_stripe_and_gives_a_partner_a_coupon(
    server: Server, browsing: Browsing, engine: Engine
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    assert api.post("/api/v1/partners", json={"name": "Anna Blog", "email": "anna@blog.test"}).status_code == 201

    manager = browsing.person()
    manager.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _log_in(manager, OWNER, OWNER_PASSWORD)
    manager.get_by_role("link", name="Integrations", exact=True).click()
    manager.get_by_role("link", name="Set up Stripe").click()
    expect(manager.get_by_role("heading", name="Stripe", exact=True)).to_be_visible()
    webhook_url = f"{server.base_url}/integrations/stripe/webhook/{program.id}"
    expect(manager.get_by_test_id("stripe-webhook-url")).to_have_text(webhook_url)
    manager.get_by_role("button", name="Copy URL").click()
    expect(manager.get_by_role("button", name="Copied")).to_be_visible()
    assert manager.evaluate("navigator.clipboard.readText()") == webhook_url
    expect(manager.get_by_test_id("last-event")).to_have_text("No event received yet.")

    manager.get_by_label("Signing secret").fill(SECRET)
    expect(manager.get_by_label("Accept test-mode events")).to_be_checked()
    manager.get_by_role("button", name="Save Stripe settings").click()
    expect(manager.get_by_role("status")).to_have_text("Stripe settings saved.")
    expect(manager.get_by_test_id("webhook-secret-state")).to_contain_text("set")
    assert SECRET not in manager.content()

    # Stripe sends an event: signed by the stripe library's own scheme, over HTTP to the URL shown.
    event = new_event("customer.created", stripe_object("customer", id="cus_e2e_1", metadata={}))
    payload = json.dumps(event)
    signature = stripe.WebhookSignature.generate_signature_header(payload, SECRET, int(time.time()))
    answer = httpx.post(webhook_url, content=payload, headers={"Stripe-Signature": signature}, timeout=10)
    assert answer.status_code == 200, answer.text
    manager.reload()
    expect(manager.get_by_test_id("last-event")).to_contain_text("customer.created")
    expect(manager.get_by_test_id("last-event")).to_contain_text("(test mode)")

    manager.get_by_role("button", name="Send a test event").click()
    expect(manager.get_by_role("status")).to_contain_text("Test event signed with the saved secret")
    expect(manager.get_by_test_id("last-event")).to_contain_text("partnerloop.connection_test")
    expect(manager.get_by_test_id("last-event")).to_contain_text("ignored")
    screenshot(manager, "manage-stripe")

    manager.get_by_role("link", name="Coupons", exact=True).click()
    expect(manager.get_by_role("heading", name="Coupons", exact=True)).to_be_visible()
    manager.get_by_label("Code", exact=True).fill("ANNA10")
    manager.get_by_label("Partner", exact=True).select_option(label="Anna Blog (anna@blog.test)")
    manager.get_by_role("button", name="Create coupon").click()
    expect(manager.get_by_role("status")).to_have_text("Coupon ANNA10 created.")
    expect(manager.get_by_test_id("coupon-ANNA10")).to_contain_text("Anna Blog")
    expect(manager.get_by_test_id("coupon-ANNA10")).to_contain_text("not in Stripe")
    screenshot(manager, "manage-coupons")

    phone = browsing.person(phone=True)
    _log_in(phone, OWNER, OWNER_PASSWORD)
    for path, name in (
        ("/manage/integrations/stripe", "manage-stripe-phone"),
        ("/manage/coupons", "manage-coupons-phone"),
    ):
        phone.goto(f"{path}?program={program.id}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
        screenshot(phone, name)
