"""In Chromium, against a real server, issue 12's walls as a manager and a partner meet them: the manager runs
payouts from the dashboard (who is due and why not, confirm, the PayPal CSV, mark paid, a failure and its retry);
the partner's dashboard opens with their link, referral code and QR code, and swipe copy carries their link."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.models import Program
from partnerloop.partner_portal.service import library
from tests.account.factories import add_partner_user
from tests.conftest import ProgramKeys, make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.e2e.test_partner_journey import OWNER, OWNER_PASSWORD, _log_in
from tests.sites import merchant_site

pytestmark = pytest.mark.slow

PAT = "pat@creator.example"
PAT_PASSWORD = "sunny meadow 42"


def _partner(api: httpx.Client, name: str, method: dict[str, str] | None, earnings: int) -> str:
    partner = api.post("/api/v1/partners", json={"name": name, "email": f"{name.lower()}@partner.test"})
    assert partner.status_code == 201, partner.text
    partner_id = str(partner.json()["id"])
    if method is not None:
        assert api.put(f"/api/v1/partners/{partner_id}/payout-method", json=method).status_code == 200
    earned = api.post("/api/v1/commissions", json={"partner_id": partner_id, "amount": earnings, "reason": "launch"})
    assert earned.status_code == 201, earned.text
    return partner_id


def _payouts_program(server: Server, engine: Engine) -> ProgramKeys:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    assert api.patch("/api/v1/program", json={"min_payout_amount": 1000}).is_success
    _partner(api, "Ann", {"type": "paypal", "email": "ann@paypal.test"}, 7500)
    _partner(api, "Dee", {"type": "paypal", "email": "dee@paypal.test"}, 4000)
    _partner(api, "Bob", None, 3000)
    _partner(api, "Cat", {"type": "paypal", "email": "cat@paypal.test"}, 500)
    return program


def test_a_manager_runs_payouts_from_the_dashboard(server: Server, browsing: Browsing, engine: Engine) -> None:
    _payouts_program(server, engine)
    manager = browsing.person()
    _log_in(manager, OWNER, OWNER_PASSWORD)
    manager.get_by_role("link", name="Payouts", exact=True).click()
    expect(manager.get_by_role("heading", name="Payouts", exact=True)).to_be_visible()
    expect(manager.locator('[data-due="ann@partner.test"]')).to_contain_text("75.00")
    expect(manager.locator('[data-due="dee@partner.test"]')).to_contain_text("40.00")
    expect(manager.locator('[data-skipped="bob@partner.test"]')).to_contain_text("No payout method")
    expect(manager.locator('[data-skipped="cat@partner.test"]')).to_contain_text("Below the minimum payout")
    expect(manager.locator('[data-delivery="paypal"]')).to_contain_text("Pay from the CSV")  # PayPal not connected
    screenshot(manager, "manage-payouts")

    manager.once("dialog", lambda dialog: dialog.accept())
    manager.get_by_role("button", name="Confirm the run").click()
    expect(manager.get_by_role("status")).to_have_text("Payout run confirmed: 2 payouts.")
    expect(manager.get_by_text("Nobody is due a payout now.")).to_be_visible()
    with manager.expect_download() as download:
        manager.get_by_role("link", name="PayPal CSV (USD)").click()
    rows = Path(download.value.path()).read_text().splitlines()
    assert sorted(row.split(",")[:3] for row in rows) == [
        ["ann@paypal.test", "75.00", "USD"],
        ["dee@paypal.test", "40.00", "USD"],
    ]

    # Dee's PayPal account bounced: mark it failed, then retry; Ann's is paid with the bank's reference.
    manager.get_by_label("Why the payout to Dee failed").fill("PayPal account closed")
    manager.get_by_role("button", name="Mark the payout to Dee failed").click()
    expect(manager.get_by_role("status")).to_contain_text("Payout marked failed")
    expect(manager.locator('[data-failed="dee@partner.test"]')).to_contain_text("PayPal account closed")
    manager.get_by_role("button", name="Retry the payout to Dee").click()
    expect(manager.get_by_role("status")).to_contain_text("Payout retried")
    expect(manager.locator('[data-failed="dee@partner.test"]')).to_contain_text("Retried")
    manager.get_by_label("Select all").check()
    manager.get_by_label("Payment reference").fill("PAYPAL-BATCH-77")
    manager.get_by_role("button", name="Mark paid").click()
    expect(manager.get_by_role("status")).to_have_text("2 payouts marked paid.")
    expect(manager.get_by_text("No payout is waiting.")).to_be_visible()
    expect(manager.locator("[data-run]").first).to_contain_text("1 paid")

    # The schedule: monthly on the 5th, net 30.
    manager.get_by_label("Runs").select_option("monthly")
    manager.get_by_label("Day of the month").fill("5")
    manager.get_by_label("Net days").fill("30")
    manager.get_by_role("button", name="Save schedule").click()
    expect(manager.get_by_role("status")).to_have_text("Payout schedule saved.")
    expect(manager.get_by_text("monthly on day 5")).to_be_visible()
    screenshot(manager, "manage-payouts-history")

    phone = browsing.person(phone=True)
    _log_in(phone, OWNER, OWNER_PASSWORD)
    phone.goto("/manage/payouts")
    expect(phone.locator('[data-skipped="bob@partner.test"]')).to_be_visible()
    screenshot(phone, "manage-payouts-phone")


def _copied(page: Page, button: str, target: str) -> str:
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    text: str = page.evaluate("navigator.clipboard.readText()")
    assert text == page.locator(target).input_value()
    return text


def test_a_partner_sees_their_link_code_and_qr_code_first(server: Server, browsing: Browsing, engine: Engine) -> None:
    program = make_program(engine)
    _user_id, _partner_id = add_partner_user(engine, program.id, PAT, name="Pat Creator", password=PAT_PASSWORD)
    with transaction(engine) as session:
        acme = session.get_one(Program, program.id)
        swipe = library.ResourceIn("swipe_copy", "Launch post", body="I run my analytics on Acme: {link}")
        library.add_resource(session, acme, swipe)

    pat = browsing.person(phone=True)
    pat.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base_url)
    _log_in(pat, PAT, PAT_PASSWORD)
    expect(pat).to_have_url(re.compile(r"/partner$"))
    code = pat.get_by_label("Your referral code").input_value()
    assert code and _copied(pat, "Copy code", "#share-code") == code
    expect(pat.locator('[data-site-url="ref"]')).to_have_value(f"https://acme.test/?ref={code}")
    expect(pat.locator('[data-site-url="via"]')).to_have_value(f"https://acme.test/?via={code}")
    pat.get_by_role("button", name="Create my link").click()
    expect(pat.get_by_role("status")).to_contain_text("Your link is ready")

    pat.goto("/partner")
    link = _copied(pat, "Copy link", "#share-link")
    assert re.fullmatch(rf"{re.escape(server.base_url)}/go/[\w-]+", link), link
    qr = pat.get_by_role("img", name=f"QR code of {link}")
    expect(qr).to_be_visible()
    assert qr.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")  # waits for it to load
    screenshot(pat, "partner-dashboard-link-phone")

    pat.get_by_role("link", name="Resources").first.click()
    expect(pat.get_by_label("Text to copy")).to_have_value(f"I run my analytics on Acme: {link}")
    screenshot(pat, "partner-resources-phone")

    desk = browsing.person()
    _log_in(desk, PAT, PAT_PASSWORD)
    expect(desk.locator("[data-default-link]")).to_have_value(link)
    screenshot(desk, "partner-dashboard-link")


def test_a_manager_manages_links_and_a_partner_archives_one(server: Server, browsing: Browsing, engine: Engine) -> None:
    program = make_program(engine)
    add_partner_user(engine, program.id, PAT, name="Pat Creator", password=PAT_PASSWORD)
    manager = browsing.person()
    _log_in(manager, OWNER, OWNER_PASSWORD)
    manager.get_by_role("link", name="Links", exact=True).click()
    manager.get_by_label("Partner", exact=True).select_option(label=f"Pat Creator ({PAT})")
    manager.get_by_label("Page to send visitors to").fill("https://acme.test/pricing")
    manager.get_by_label("Key", exact=False).fill("pat-pricing")
    manager.get_by_role("button", name="Create link").click()
    expect(manager.get_by_role("status")).to_have_text("Link /go/pat-pricing created.")
    for agent in ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",) * 2:
        visit = httpx.get(
            f"{server.base_url}/go/pat-pricing",
            headers={"User-Agent": agent, "Referer": "https://blog.example/post", "cf-ipcountry": "DE"},
        )
        assert visit.status_code == 302
    for _ in range(100):  # the click buffer flushes every 50 ms here
        manager.reload()
        if manager.locator("[data-total-clicks]").inner_text() == "2":
            break
        manager.wait_for_timeout(100)
    expect(manager.locator('[data-breakdown="country"]')).to_contain_text("Germany")
    expect(manager.locator('[data-breakdown="referrer"]')).to_contain_text("blog.example")
    manager.get_by_label("New destination").fill("https://acme.test/")
    manager.get_by_role("button", name="Change destination").click()
    expect(manager.locator("[data-destination]")).to_have_text("https://acme.test/")
    screenshot(manager, "manage-link")
    manager.goto("/manage/links")
    manager.get_by_role("searchbox", name="Search").fill("Pat")
    manager.get_by_role("button", name="Search").click()
    expect(manager.locator('[data-link="pat-pricing"]')).to_be_visible()
    screenshot(manager, "manage-links")

    pat = browsing.person(phone=True)
    _log_in(pat, PAT, PAT_PASSWORD)
    pat.goto("/partner/links")
    pat.get_by_role("link", name="Stats and QR code for pat-pricing").click()
    pat.get_by_label("Send visitors to").fill("https://acme.test/blog")
    pat.get_by_role("button", name="Save the destination").click()
    expect(pat.get_by_role("status")).to_contain_text("new page")
    screenshot(pat, "partner-link-edit-phone")
    pat.once("dialog", lambda dialog: dialog.accept())
    pat.get_by_role("button", name="Archive the link").click()
    expect(pat.get_by_role("status")).to_contain_text("archived")
    assert httpx.get(f"{server.base_url}/go/pat-pricing").status_code == 404
    manager.goto("/manage/links")
    expect(manager.get_by_text("No link matches.")).to_be_visible()


def _svg(fill: str) -> str:
    return f"<svg xmlns='http://www.w3.org/2000/svg' width='728' height='90'><rect width='728' height='90' rx='12' fill='{fill}'/></svg>"


def test_the_merchants_logo_and_banners_show_as_images(server: Server, browsing: Browsing, engine: Engine) -> None:
    """Wall 7: the application page carries the program's logo, and banners show as images for the partner and
    the manager, loaded from the merchant's host (which the page's policy allows, and no other)."""
    asked: list[str] = []
    images = {"/b.svg": _svg("#2454c5"), "/logo.svg": _svg("#ffd54a")}
    with merchant_site("127.0.0.1", images, "image/svg+xml", asked) as port:
        origin = f"http://cdn.acme.test:{port}"
        program = make_program(engine)
        add_partner_user(engine, program.id, PAT, name="Pat Creator", password=PAT_PASSWORD)
        with transaction(engine) as session:
            acme = session.get_one(Program, program.id)
            library.add_resource(
                session, acme, library.ResourceIn("banner", "Leaderboard 728×90", url=f"{origin}/b.svg")
            )
            library.add_resource(session, acme, library.ResourceIn("banner", "Banner page", url=f"{origin}/banners"))

        manager = browsing.person()
        _log_in(manager, OWNER, OWNER_PASSWORD)
        manager.goto(f"/manage/application?program={program.id}")
        manager.get_by_label("Logo").fill(f"{origin}/logo.svg")
        manager.get_by_role("button", name="Save the form").click()
        expect(manager.get_by_role("status")).to_contain_text("saved")
        preview = manager.get_by_role("img", name="Your logo as applicants see it")
        assert preview.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")
        manager.goto(f"/manage/resources?program={program.id}")
        thumb = manager.get_by_role("img", name="Preview of Leaderboard 728×90")
        assert thumb.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")
        assert manager.get_by_role("img", name="Preview of Banner page").count() == 0  # a page, not an image
        screenshot(manager, "manage-resources-banner")

        visitor = browsing.person(phone=True)
        visitor.goto(f"/apply/{program.id}")
        logo = visitor.get_by_role("img", name="Acme")
        assert logo.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")
        assert "Partnerloop" not in visitor.locator("body").inner_text()
        screenshot(visitor, "apply-logo-phone")

        pat = browsing.person(phone=True)
        _log_in(pat, PAT, PAT_PASSWORD)
        pat.goto("/partner/resources")
        banner = pat.get_by_role("img", name="Leaderboard 728×90")
        assert banner.evaluate("image => image.decode().then(() => image.naturalWidth > 0)")
        screenshot(pat, "partner-resources-banner-phone")
        assert sorted(set(asked)) == ["/b.svg", "/logo.svg"]  # the page link was never fetched
