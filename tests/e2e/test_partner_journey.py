"""In Chromium, against a real server: a partner applies, is approved by a manager, logs in, gets started,
builds a link, and the click and the sale it brings show on their dashboard."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tests.conftest import make_program
from tests.e2e.conftest import Browsing, MerchantSite, Server, screenshot
from tests.notify.smtp import SmtpRecorder

pytestmark = pytest.mark.slow

OWNER = "owner-acme@example.com"
OWNER_PASSWORD = "correct horse battery"
JO = "jo@creator.example"
JO_PASSWORD = "sunny meadow 42"


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _kpi(page: Page, name: str) -> str:
    return page.locator(f'[data-kpi="{name}"]').inner_text()


def test_a_partner_applies_is_approved_gets_started_and_sees_a_click_and_a_sale(
    server: Server, browsing: Browsing, engine: Engine, smtp: SmtpRecorder, merchant_site: MerchantSite
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    plan = api.post("/api/v1/plans", json={"name": "Standard", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "months", "months": 12}},
        {"event": "lead", "reward": {"type": "flat", "amount": 200}},
    ]})  # fmt: skip
    assert plan.status_code == 201, plan.text
    assert api.patch("/api/v1/program", json={"default_plan_id": plan.json()["id"]}).status_code == 200

    # The manager prepares the application form and the welcome kit in the dashboard.
    manager = browsing.person()
    _log_in(manager, OWNER, OWNER_PASSWORD)
    manager.goto("/manage/application")
    manager.get_by_label("Question", exact=True).fill("How large is your audience?")
    manager.get_by_label("Required").check()
    manager.get_by_role("button", name="Add the question").click()
    expect(manager.get_by_role("status")).to_contain_text("The question is on the form.")
    manager.goto("/manage/onboarding")
    manager.get_by_label("Welcome message").fill("Welcome to Acme, partner!")
    manager.get_by_label("How to promote").fill("Show your audience how you use Acme.")
    manager.get_by_role("button", name="Save the welcome kit").click()
    expect(manager.get_by_role("status")).to_contain_text("The welcome kit is saved.")
    screenshot(manager, "manage-onboarding")
    manager.goto("/manage/resources")
    manager.get_by_label("Kind").select_option("swipe_copy")
    manager.get_by_label("Title").fill("Launch tweet")
    manager.get_by_label("Text (swipe copy, or a guide's text)").fill("I run my analytics on Acme: try it.")
    manager.get_by_role("button", name="Add to the library").click()
    expect(manager.get_by_role("status")).to_contain_text("is in the library")
    screenshot(manager, "manage-resources")

    # Jo applies from a phone.
    jo = browsing.person(phone=True)
    jo.goto(f"/apply/{program.id}")
    screenshot(jo, "apply-phone")
    jo.get_by_role("button", name="Apply").click()  # the browser checks required fields first
    expect(jo).to_have_url(re.compile(rf"/apply/{program.id}$"))
    jo.get_by_label("Your name").fill("Jo Creator")
    jo.get_by_label("Email").fill(JO)
    jo.get_by_label("Choose a password").fill(JO_PASSWORD)
    jo.get_by_label("Website or social profile").fill("https://jo.example")
    jo.get_by_label("Country").select_option("de")
    jo.get_by_label("How large is your audience?").fill("12k newsletter readers")
    jo.get_by_label("I accept the Acme partner program terms").check()
    jo.get_by_role("button", name="Apply").click()
    expect(jo.get_by_role("heading", name="Thank you for applying")).to_be_visible()
    smtp.wait_for(to=JO, subject="We received your application to Acme")
    jo.goto(smtp.wait_for(to=JO, subject="Confirm your email").link("/verify/"))

    # The manager reads the answers on the applications page and approves; Jo is told by email.
    manager.goto("/manage/applications")
    expect(manager.get_by_text("12k newsletter readers")).to_be_visible()
    screenshot(manager, "manage-applications")
    manager.get_by_label("Select Jo Creator").check()
    manager.get_by_role("button", name="Approve").click()
    expect(manager.get_by_role("status")).to_contain_text("approved")
    assert "/login" in smtp.wait_for(to=JO, subject="your application is approved").text

    # Jo logs in, lands on the dashboard and gets started.
    _log_in(jo, JO, JO_PASSWORD)
    expect(jo).to_have_url(re.compile(r"/partner$"))
    expect(jo.get_by_role("heading", name="Getting started: 1 of 4 done")).to_be_visible()  # the profile is complete
    jo.get_by_role("link", name="Finish getting started").click()
    expect(jo.get_by_text("Welcome to Acme, partner!")).to_be_visible()
    expect(jo.locator('[data-terms="plan"]')).to_contain_text(
        "You earn 20% of each payment for the first 12 months after the customer's first purchase."
    )
    expect(jo.locator('[data-terms="plan"]')).to_contain_text("You earn 2.00 USD for each lead")
    screenshot(jo, "partner-welcome-phone")
    jo.get_by_role("link", name="Add your payout details").click()
    expect(jo.get_by_label("PayPal email")).to_be_visible()
    expect(jo.get_by_label("IBAN")).to_be_hidden()  # the script shows the chosen method's fields only
    jo.get_by_label("PayPal email").fill("jo@paypal.example")
    jo.get_by_role("button", name="Save payout details").click()
    expect(jo.get_by_role("status")).to_contain_text("Your payout details are saved.")
    expect(jo.locator('[data-payout-method="paypal"]')).to_contain_text("j•")  # masked
    screenshot(jo, "partner-payouts-phone")
    jo.get_by_role("link", name="Getting started").first.click()
    expect(jo.get_by_role("heading", name="Your checklist: 2 of 4 done")).to_be_visible()
    jo.get_by_role("link", name="Create your first link").click()
    jo.get_by_label("Page to send visitors to").fill(f"{merchant_site.origin}/pricing")
    jo.get_by_label("Custom key").fill("jo-news")
    jo.get_by_text("Campaign tracking (UTM fields)").click()
    jo.get_by_label("utm_source").fill("newsletter")
    jo.get_by_role("button", name="Create link").click()
    expect(jo.get_by_role("status")).to_contain_text("Your link is ready")
    short_url = f"{server.base_url}/go/jo-news"
    expect(jo.get_by_label("Your short link")).to_have_value(short_url)
    expect(jo.get_by_text(f"{merchant_site.origin}/pricing?utm_source=newsletter")).to_be_visible()
    qr = jo.get_by_role("img", name=f"QR code of {short_url}")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")  # waits for it to load
    screenshot(jo, "partner-link-phone")

    # A visitor clicks the link and lands on the merchant's site (a server on loopback).
    visitor = browsing.person()
    visitor.goto(short_url)
    expect(visitor).to_have_url(
        re.compile(rf"^{re.escape(merchant_site.origin)}/pricing\?utm_source=newsletter&pl_cid=\w{{64}}$")
    )
    click_id = visitor.url.split("pl_cid=")[1]
    lead = api.post("/api/v1/track/lead", json={"click_id": click_id, "customer_external_id": "cus_42"})
    assert lead.status_code == 200, lead.text
    sale = api.post(
        "/api/v1/track/sale",
        json={"customer_external_id": "cus_42", "amount": 4900, "currency": "usd", "invoice_id": "in_42"},
    )
    assert sale.status_code == 200, sale.text

    # Jo's dashboard shows the click, the lead, the sale and the earnings.
    jo.goto("/partner")
    deadline = time.monotonic() + 15  # the click buffer writes every 50 ms; a busy machine may take longer
    while _kpi(jo, "clicks") != "1" and time.monotonic() < deadline:
        jo.wait_for_timeout(100)
        jo.reload()
    assert (_kpi(jo, "clicks"), _kpi(jo, "unique-clicks"), _kpi(jo, "leads"), _kpi(jo, "sales")) == ("1", "1", "1", "1")
    assert _kpi(jo, "earned-usd") == "$11.80"  # 2.00 for the lead + 20% of 49.00
    expect(jo.locator('[data-balance="pending"]')).to_have_text("$11.80")
    screenshot(jo, "partner-dashboard-phone")
    jo.set_viewport_size({"width": 1280, "height": 900})
    screenshot(jo, "partner-dashboard")

    jo.get_by_role("link", name="Commissions").first.click()
    expect(jo.locator(".explanation").first).to_contain_text("20% of 49.00 USD under Standard")
    screenshot(jo, "partner-commissions")
    jo.get_by_role("link", name="Resources").first.click()
    # swipe copy without a {link} placeholder gets the partner's own link appended
    expect(jo.get_by_label("Text to copy")).to_have_value(
        re.compile(r"^I run my analytics on Acme: try it\.\n\nhttp://127\.0\.0\.1:\d+/go/jo-news$")
    )
    screenshot(jo, "partner-resources")
    jo.get_by_role("link", name="Getting started").first.click()
    expect(jo.get_by_role("heading", name="Your checklist: 4 of 4 done")).to_be_visible()
    screenshot(jo, "partner-welcome")
    jo.get_by_role("link", name="Links").first.click()
    expect(jo.locator('[data-link="jo-news"]')).to_contain_text("1 click · 1 customer · 1 sale")
    screenshot(jo, "partner-links")


def test_the_copy_button_copies_the_short_link(server: Server, browsing: Browsing, engine: Engine) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    from tests.account.factories import add_partner_user

    add_partner_user(engine, program.id, JO, password=JO_PASSWORD)
    jo = browsing.person()
    jo.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    _log_in(jo, JO, JO_PASSWORD)
    jo.goto("/partner/links")
    jo.get_by_label("Page to send visitors to").fill("https://acme.test/")
    jo.get_by_label("Custom key").fill("copy-me")
    jo.keyboard.press("Enter")  # the form works from the keyboard
    expect(jo.get_by_role("status")).to_contain_text("Your link is ready")
    copy = jo.locator('button[data-copy="#short-url"]')
    expect(copy).to_be_visible()  # shown only with the script: without it the field can be selected by hand
    copy.click()
    expect(copy).to_have_text("Copied")
    assert jo.evaluate("navigator.clipboard.readText()") == f"{server.base_url}/go/copy-me"
    assert api.get("/api/v1/links").json()["data"][0]["key"] == "copy-me"
