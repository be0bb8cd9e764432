"""In Chromium, against a real server: a manager approves a partner's commissions in bulk and moves the partner
into a group; the partner sees the approved earnings, the group's plan and the group's resources."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine

from tests.account.factories import add_partner_user
from tests.conftest import make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.e2e.test_partner_journey import OWNER, OWNER_PASSWORD, _log_in

pytestmark = pytest.mark.slow

PAT = "pat@creator.example"
PAT_PASSWORD = "sunny meadow 42"


def test_a_manager_approves_commissions_in_bulk_and_moves_a_partner_into_a_group(
    server: Server, browsing: Browsing, engine: Engine
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    standard = api.post("/api/v1/plans", json={"name": "Standard", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}},
    ]}).json()  # fmt: skip
    gold_plan = api.post("/api/v1/plans", json={"name": "Gold", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 3000}, "duration": {"kind": "lifetime"}},
    ]}).json()  # fmt: skip
    assert api.patch("/api/v1/program", json={"default_plan_id": standard["id"], "min_payout_amount": 1000}).is_success
    gold = api.post("/api/v1/groups", json={"name": "Gold", "plan_id": gold_plan["id"]})
    assert gold.status_code == 201, gold.text
    _user_id, pat_id = add_partner_user(engine, program.id, PAT, name="Pat Creator", password=PAT_PASSWORD)
    code = api.get(f"/api/v1/partners/{pat_id}").json()["referral_code"]
    for number in range(3):
        customer = f"cus_{number}"
        assert api.post("/api/v1/track/lead", json={"referral_code": code, "customer_external_id": customer}).is_success
        sale = api.post(
            "/api/v1/track/sale",
            json={"customer_external_id": customer, "amount": 5000, "currency": "usd", "invoice_id": f"in_{number}"},
        )
        assert sale.status_code == 200 and sale.json()["commissions"], sale.text

    manager = browsing.person()
    _log_in(manager, OWNER, OWNER_PASSWORD)
    # A resource for the Gold group only.
    manager.goto("/manage/resources")
    manager.get_by_label("Kind").select_option("guide")
    manager.get_by_label("Title").fill("Gold playbook")
    manager.get_by_label("Text (swipe copy, or a guide's text)").fill("Early access to launches.")
    manager.get_by_label("Gold").check()
    manager.get_by_role("button", name="Add to the library").click()
    expect(manager.locator('[data-resource="Gold playbook"]')).to_contain_text("Gold")

    pat = browsing.person()
    _log_in(pat, PAT, PAT_PASSWORD)
    expect(pat.locator('[data-balance="pending"]')).to_have_text("$30.00")  # 3 × 20% of 50.00
    pat.goto("/partner/resources")
    expect(pat.get_by_text("Gold playbook")).to_have_count(0)

    # Bulk approval: select every commission in the review queue and approve them at once.
    manager.goto("/manage/commissions")
    manager.get_by_label("Select all").check()
    for box in manager.locator('input[name="commission_ids"]').all():
        expect(box).to_be_checked()
    screenshot(manager, "manage-commissions")
    manager.get_by_role("button", name="Approve").click()
    expect(manager.get_by_role("status")).to_contain_text("3")
    manager.get_by_label("Status").select_option("approved")
    manager.get_by_role("button", name="Apply").click()
    expect(manager.locator('input[name="commission_ids"]')).to_have_count(3)

    # The group change, on the partner's page.
    manager.goto("/manage/partners")
    manager.get_by_role("link", name="Pat Creator").first.click()
    manager.get_by_label("Group", exact=True).select_option(label="Gold")
    manager.get_by_role("button", name="Move").click()
    expect(manager.get_by_role("status")).to_contain_text("Group changed.")
    expect(manager.get_by_label("Group", exact=True)).to_have_value(gold.json()["id"])
    screenshot(manager, "manage-partner")

    # The partner sees it all.
    pat.goto("/partner")
    expect(pat.locator('[data-balance="approved"]')).to_have_text("$30.00")
    expect(pat.locator('[data-balance="pending"]')).to_have_text("$0.00")
    expect(pat.locator("[data-next-payout]")).to_have_text(
        "$30.00 is approved and goes into the next payout run. Add your payout details to be paid."
    )
    pat.goto("/partner/commissions?status=approved")
    expect(pat.locator("tr[data-commission]")).to_have_count(3)
    pat.goto("/partner/resources")
    expect(pat.get_by_role("heading", name="Gold playbook")).to_be_visible()
    pat.goto("/partner/welcome")
    expect(pat.locator('[data-terms="plan"]')).to_have_text(
        re.compile(r"You earn 30% of each payment for as long as the customer pays\.")
    )
