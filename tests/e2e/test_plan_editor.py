"""In Chromium, against a real server: a manager gives a plan a tier, a cap, a campaign window and a bonus in
the plan editor (no API), saves, and reads them in the plan's "In words"; a lead rule hides the sale-only fields."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tests.conftest import make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.e2e.test_partner_journey import OWNER, OWNER_PASSWORD, _log_in

pytestmark = pytest.mark.slow


def _fill_parts(manager: Page) -> None:
    rule = manager.locator("fieldset.rule").first
    for part in ("Tiers (none)", "Caps (none)", "Active window (always)"):  # folded while a rule has none
        rule.locator("summary", has_text=part).click()
    manager.locator("#r0t0-min").fill("0")
    manager.locator("#r0t0-rate").fill("20")
    manager.locator("#r0t1-min").fill("10")
    manager.locator("#r0t1-rate").fill("30")
    manager.locator("#r0-cap-customer").fill("500")
    manager.locator("#r0-active-from").fill("2026-11-27T00:00")
    manager.locator("#r0-active-until").fill("2026-12-01T00:00")
    manager.locator("#b0-name").fill("Ten club")
    manager.locator("#b0-threshold").fill("10")
    manager.locator("#b0-amount").fill("100")


def test_a_manager_adds_a_tier_a_cap_a_window_and_a_bonus_in_the_plan_editor(
    server: Server, browsing: Browsing, engine: Engine
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    plan = api.post("/api/v1/plans", json={"name": "Launch", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}},
        {"event": "lead", "reward": {"type": "flat", "amount": 500}},
    ]}).json()  # fmt: skip
    manager = browsing.person()
    _log_in(manager, OWNER, OWNER_PASSWORD)
    manager.goto(f"/manage/plans/{plan['id']}?program={program.id}")
    expect(manager.get_by_role("heading", name="Launch")).to_be_visible()
    # the lead rule shows no sale-only fields; the new rule starts as a sale recurring for 12 months
    expect(manager.locator("#r1-rate")).to_be_hidden()
    expect(manager.locator("#r1-duration")).to_be_hidden()
    expect(manager.locator("#r0-rate")).to_be_visible()
    expect(manager.locator("#r2-duration")).to_have_value("months")
    expect(manager.locator("#r2-months")).to_have_value("12")
    manager.locator("#r2-event").select_option("click")  # the script hides the sale-only fields as the event changes
    expect(manager.locator("#r2-rate")).to_be_hidden()
    manager.locator("fieldset.rule").nth(2).locator("summary", has_text="Caps").click()
    expect(manager.locator("#r2-cap-day-count")).to_be_visible()
    manager.locator("#r2-event").select_option("sale")
    _fill_parts(manager)
    manager.get_by_role("button", name="Save plan").click()
    expect(manager.get_by_role("status")).to_contain_text("saved")
    words = manager.locator("#in-words")
    expect(words).to_contain_text("From 27 Nov 2026 until 1 Dec 2026")
    expect(words).to_contain_text("30% once you have made 10 sales this month")
    expect(words).to_contain_text("per customer")
    expect(words).to_contain_text("Bonus “Ten club”")
    stored = api.get(f"/api/v1/plans/{plan['id']}").json()
    assert stored["rules"][0]["tiers"]["levels"][1] == {"min": 10, "reward": {"type": "percent", "rate_bps": 3000}}
    assert stored["rules"][0]["caps"] == {"per_customer_amount": 50000}
    assert stored["rules"][0]["active"] == {"from": "2026-11-27T00:00:00Z", "until": "2026-12-01T00:00:00Z"}
    assert stored["bonuses"] == [
        {"name": "Ten club", "metric": "sales_count", "period": "month", "threshold": 10, "amount": 10000}
    ]
    expect(manager.locator("#r0-active-from")).to_have_value("2026-11-27T00:00")
    screenshot(manager, "manage-plan-editor")
    phone = browsing.person(phone=True)
    _log_in(phone, OWNER, OWNER_PASSWORD)
    phone.goto(f"/manage/plans/{plan['id']}?program={program.id}")
    expect(phone.locator("#in-words")).to_contain_text("Bonus “Ten club”")
    screenshot(phone, "manage-plan-editor-phone")
