"""axe-core (the copy that the axe-playwright-python package ships: no file from the internet) against the main
manager, partner and public pages of a served program with data, at desktop and phone size: no WCAG 2 A/AA
violation (labels, names, contrast, landmarks, lists, ARIA) on any of them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from sqlalchemy import Engine

from partnerloop.app import create_app
from tests.account.factories import add_partner_user
from tests.conftest import make_program, make_settings
from tests.e2e.conftest import Browsing, Server
from tests.e2e.test_partner_journey import OWNER, OWNER_PASSWORD, _log_in
from tests.manage.world import page_routes

pytestmark = pytest.mark.slow

PAT = "pat@creator.example"
PAT_PASSWORD = "sunny meadow 42"
AXE_OPTIONS = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa"]}}
# Besides every page without an id in its path (read from the route table), these with one.
NAMED_PAGES = ("/manage/partners/{partner_id}", "/manage/plans/{plan_id}")


def _pages(prefix: str) -> list[str]:
    app = create_app(make_settings("sqlite://"))
    pages = [path for method, path in page_routes(app, prefix, ("GET",)) if "{" not in path]
    # Sent emails exist only without SMTP (the served test app has one).
    return [path for path in pages if not path.endswith((".csv", ".svg", ".png", "/export", "/manage/emails"))]


def _violations(axe: Axe, page: Page, url: str) -> list[str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, url  # the page itself, not an error page
    results: dict[str, Any] = axe.run(page, options=AXE_OPTIONS).response
    return [
        f"{url}: {violation['id']} ({violation['impact']}) {violation['help']}: "
        + "; ".join(node["html"][:120] for node in violation["nodes"][:3])
        for violation in results["violations"]
    ]


def _program_with_data(server: Server, engine: Engine) -> dict[str, str]:
    program = make_program(engine)
    _user, partner_id = add_partner_user(engine, program.id, PAT, name="Pat Creator", password=PAT_PASSWORD)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    plan = api.post("/api/v1/plans", json={"name": "Standard", "rules": [
        {"event": "sale", "reward": {"type": "percent", "rate_bps": 2000}, "duration": {"kind": "months", "months": 12}}]})  # fmt: skip
    assert plan.status_code == 201, plan.text
    assert api.patch("/api/v1/program", json={"default_plan_id": plan.json()["id"]}).is_success
    code = api.get(f"/api/v1/partners/{partner_id}").json()["referral_code"]
    for index in range(3):
        lead = {"referral_code": code, "customer_external_id": f"cus_{index}", "email": f"c{index}@customer.test"}
        assert api.post("/api/v1/track/lead", json=lead).is_success
        sale = {"customer_external_id": f"cus_{index}", "amount": 4900, "currency": "usd", "invoice_id": f"in_{index}"}
        assert api.post("/api/v1/track/sale", json=sale).is_success
    return {"program": program.id, "partner_id": partner_id, "plan_id": plan.json()["id"]}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_main_pages_have_no_accessibility_violation(
    server: Server, browsing: Browsing, engine: Engine, phone: bool
) -> None:
    ids = _program_with_data(server, engine)
    axe = Axe()
    found: list[str] = []
    manager = browsing.person(phone=phone)
    _log_in(manager, OWNER, OWNER_PASSWORD)
    for template in _pages("/manage") + list(NAMED_PAGES):
        found += _violations(axe, manager, template.format(**ids) + f"?program={ids['program']}")
    pat = browsing.person(phone=phone)
    _log_in(pat, PAT, PAT_PASSWORD)
    for url in _pages("/partner"):
        found += _violations(axe, pat, url)
    visitor = browsing.person(phone=phone)
    for url in ("/login", f"/apply/{ids['program']}"):
        found += _violations(axe, visitor, url)
    assert found == [], "\n".join(found)
