"""In Chromium, against a real server: the manager's overview, partners and commissions pages on a laptop and
on a phone. On a phone nothing scrolls sideways (the lists are stacked cards); on a laptop the content uses the
width; the charts have labelled axes."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from tests.conftest import make_program
from tests.e2e.conftest import Browsing, Server, screenshot
from tests.e2e.test_partner_journey import OWNER, OWNER_PASSWORD, _log_in

pytestmark = pytest.mark.slow

_SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _pages(page: Page, program_id: str, suffix: str) -> None:
    for path, name in (
        ("/manage", "overview"),
        ("/manage/partners", "partners"),
        ("/manage/commissions", "commissions"),
    ):
        page.goto(f"{path}?program={program_id}")
        assert page.evaluate(_SIDEWAYS) <= 0, f"{name} scrolls sideways on the {suffix}"
        screenshot(page, f"figures-{name}-{suffix}")


def test_the_figures_pages_fit_a_phone_and_use_a_laptops_width(
    server: Server, browsing: Browsing, engine: Engine
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    plan = api.post("/api/v1/plans", json={"name": "Standard", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}},
        {"event": "lead", "reward": {"type": "flat", "amount": 500}},
    ]}).json()  # fmt: skip
    assert api.patch("/api/v1/program", json={"default_plan_id": plan["id"]}).is_success
    for number, name in enumerate(["Alexandra Featherstonehaugh-Montgomery", "Bo", "Chidimma Okonkwo-Adeyemi"]):
        email = f"{name.split()[0].lower()}.with.a.long.address.{number}@creator-collective.example"
        partner = api.post("/api/v1/partners", json={"name": name, "email": email, "status": "approved"})
        assert partner.status_code == 201, partner.text
        code = partner.json()["referral_code"]
        for sale in range(2):
            customer = f"cus_{number}_{sale}"
            assert api.post(
                "/api/v1/track/lead", json={"referral_code": code, "customer_external_id": customer}
            ).is_success
            sold = api.post("/api/v1/track/sale", json={
                "customer_external_id": customer, "amount": 123450 * (number + 1), "currency": "usd",
                "invoice_id": f"in_{number}_{sale}"})  # fmt: skip
            assert sold.status_code == 200, sold.text

    laptop = browsing.person()
    _log_in(laptop, OWNER, OWNER_PASSWORD)
    laptop.set_viewport_size({"width": 1440, "height": 900})
    _pages(laptop, program.id, "desktop")
    laptop.goto(f"/manage?program={program.id}")
    width = laptop.evaluate("() => document.querySelector('main').getBoundingClientRect().width")
    assert width >= 1350, f"the content is a narrow column on a laptop ({width}px)"
    expect(laptop.locator("svg.chart").first).to_contain_text("No clicks in this period")  # no click recorded
    revenue = laptop.locator("svg.chart").nth(1)
    expect(revenue.locator("text.axis-title")).to_have_text("USD per day")
    expect(revenue.locator("text.tick").first).to_contain_text("$")  # the value axis, in the viewer's locale
    laptop.goto(f"/manage/partners?program={program.id}")
    laptop.get_by_role("link", name="Revenue").click()
    expect(laptop.locator("tbody tr").first).to_contain_text("Chidimma")  # the most revenue first

    phone = browsing.person(phone=True)
    _log_in(phone, OWNER, OWNER_PASSWORD)
    _pages(phone, program.id, "phone")
    phone.goto(f"/manage/commissions?program={program.id}")
    card = phone.locator("table.stack tbody tr").first
    box = card.bounding_box()
    assert box is not None and box["width"] <= 390
    expect(card.locator('td[data-label="Earnings"]')).to_be_visible()
