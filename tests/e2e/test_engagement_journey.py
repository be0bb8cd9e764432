"""In Chromium, against a real server: a manager writes, previews and sends an announcement and a review; a
partner on a phone reads the news (unread, then read), sees their tier progress and the leaderboard, and
their review. Screenshots at phone size go to artifacts/screenshots/."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from partnerloop.engagement.rules import month_of
from partnerloop.kit.time import utc_now
from tests.account.factories import PASSWORD, add_partner_user
from tests.conftest import make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.notify.smtp import SmtpRecorder

pytestmark = pytest.mark.slow

OWNER = "owner-acme@example.com"
PAT = "pat@phone.test"


def _log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _sale(api: httpx.Client, code: str, customer: str, amount: int) -> None:
    lead = api.post("/api/v1/track/lead", json={"referral_code": code, "customer_external_id": customer})
    assert lead.status_code in (200, 201), lead.text
    sale = api.post("/api/v1/track/sale", json={"customer_external_id": customer, "amount": amount, "currency": "usd",
                                                 "invoice_id": f"in_{customer}"})  # fmt: skip
    assert sale.status_code in (200, 201), sale.text


def test_news_tiers_leaderboard_and_a_review_on_a_phone(
    server: Server, browsing: Browsing, engine: Engine, smtp: SmtpRecorder
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    plan = api.post("/api/v1/plans", json={"name": "Base", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "lifetime"}}]})  # fmt: skip
    assert api.patch("/api/v1/program", json={"default_plan_id": plan.json()["id"]}).status_code == 200
    gold = api.post("/api/v1/groups", json={"name": "Gold", "rank": 2, "perks": ["early_access"]}).json()
    silver = api.post("/api/v1/groups", json={"name": "Silver", "rank": 1, "promotion": {
        "metric": "revenue", "period": "month", "threshold": 100000, "to_group_id": gold["id"]}}).json()  # fmt: skip
    _user, pat_id = add_partner_user(engine, program.id, PAT, name="Pat")
    assert api.patch(f"/api/v1/partners/{pat_id}", json={"group_id": silver["id"]}).status_code == 200
    pat_code = api.get(f"/api/v1/partners/{pat_id}").json()["referral_code"]
    rival = api.post("/api/v1/partners", json={"email": "rival@x.test", "name": "Rival Real"}).json()
    _sale(api, rival["referral_code"], "cus_r", 80000)
    _sale(api, pat_code, "cus_p", 45000)
    assert api.patch("/api/v1/engagement/settings", json={"leaderboard_in_portal": True}).status_code == 200

    manager = browsing.person()
    _log_in(manager, OWNER, PASSWORD)
    manager.goto("/manage/announcements")
    manager.get_by_label("Title").fill("Webinar on Thursday")
    manager.get_by_label("Message", exact=False).fill(
        "# Grow with Acme\n\nJoin our **live webinar** on Thursday: [register here](https://acme.test/webinar).\n\n"
        "- new banners\n- a 30% bonus for Gold partners\n\n<script>alert('no')</script>"
    )
    manager.get_by_role("button", name="Preview").click()
    expect(manager.locator("[data-preview-audience]")).to_contain_text("Goes to 2 partners, 2 of them by email.")
    screenshot(manager, "manage-announcement-preview")
    manager.get_by_role("button", name="Send").click()
    expect(manager.get_by_role("status")).to_contain_text("is sent to 2 partners")
    screenshot(manager, "manage-announcements")
    smtp.wait_for(to=PAT, subject="Webinar on Thursday")
    manager.goto("/manage/leaderboard")
    expect(manager.locator('[data-rank="1"]')).to_contain_text("Rival Real")
    screenshot(manager, "manage-leaderboard")

    pat = browsing.person(phone=True)
    _log_in(pat, PAT, PASSWORD)
    pat.goto(f"/partner/announcements?program={program.id}")
    expect(pat.locator('[data-read="no"]')).to_have_count(1)
    screenshot(pat, "partner-news-phone")
    pat.get_by_role("link", name="Webinar on Thursday").click()
    tracked = pat.get_by_role("link", name="register here").get_attribute("href") or ""
    assert "/news/click/" in tracked and "u=https%3A%2F%2Facme.test%2Fwebinar" in tracked  # counted, then forwarded
    expect(pat.locator("article")).to_contain_text("<script>alert('no')</script>")  # shown as text, never run
    screenshot(pat, "partner-announcement-phone")
    pat.goto(f"/partner/announcements?program={program.id}")
    expect(pat.locator('[data-read="yes"]')).to_have_count(1)
    pat.goto(f"/partner/progress?program={program.id}")
    expect(pat.locator("[data-next-tier]")).to_contain_text("Gold")
    expect(pat.locator("[data-progress]")).to_have_attribute("data-progress", "45")
    expect(pat.locator("[data-my-rank]")).to_have_attribute("data-my-rank", "2")
    expect(pat.locator("table")).to_contain_text("Partner #1")
    expect(pat.locator("table")).not_to_contain_text("Rival Real")
    screenshot(pat, "partner-progress-phone")

    month = month_of(utc_now())
    made = api.post(f"/api/v1/partners/{pat_id}/reviews", json={"month": month})
    assert made.status_code == 201, made.text
    manager.goto(f"/manage/reviews?month={month}")
    manager.get_by_label("Your note to Pat").fill("A strong month, Pat: Gold is close.")
    manager.get_by_role("button", name="Send to Pat").click()
    expect(manager.get_by_role("status")).to_contain_text("The review is sent.")
    screenshot(manager, "manage-reviews")
    smtp.wait_for(to=PAT, subject="review")
    pat.goto(f"/partner/reviews?program={program.id}")
    expect(pat.locator("[data-note]")).to_contain_text("Gold is close")
    screenshot(pat, "partner-review-phone")
