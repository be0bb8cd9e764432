"""The JS snippet in real Chromium (Debian's, driven by Playwright): the merchant's page on one loopback
origin (www.acme.test, mapped to 127.0.0.1), Partnerloop served by uvicorn on another (127.0.0.1:<port>)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.models import Click
from tests.conftest import ProgramKeys
from tests.sites import merchant_site, served_partnerloop
from tests.tracking.helpers import eventually

PAGE = """<!doctype html><html><head><title>Acme</title>
<script async src="{partnerloop}/js/partnerloop.js" data-key="{key}" {extra}></script></head>
<body><h1>Acme</h1>
<a id="buy" href="https://buy.stripe.com/test_abc?prefilled_email=a%40b.test">Buy</a>
<a id="checkout" data-partnerloop-checkout href="https://www.acme.test/checkout?plan=pro">Checkout</a>
<a id="other" href="https://www.acme.test/about">About</a>
<form id="signup"><input type="hidden" name="pl_cid"></form>
</body></html>"""


@dataclass
class Sites:
    partnerloop: str
    merchant_port: int
    pages: dict[str, str]  # path -> HTML the merchant serves

    def merchant(self, host: str = "www.acme.test") -> str:
        return f"http://{host}:{self.merchant_port}"


@pytest.fixture
def sites(settings: Settings, program: ProgramKeys) -> Iterator[Sites]:
    pages: dict[str, str] = {}
    with served_partnerloop(settings) as partnerloop, merchant_site("127.0.0.1", pages) as merchant_port:
        yield Sites(partnerloop, merchant_port, pages)


def make_link(sites: Sites, program: ProgramKeys, key: str) -> dict[str, Any]:
    import httpx

    with httpx.Client(base_url=sites.partnerloop, headers=program.headers, timeout=10) as api:
        partner = api.post("/api/v1/partners", json={"email": f"{key}@example.com", "name": "Pat"}).json()
        link = api.post(
            "/api/v1/links",
            json={"partner_id": partner["id"], "destination_url": "https://www.acme.test/", "key": key},
        )
        assert link.status_code == 201, link.text
        return dict(link.json())


def serve_page(sites: Sites, program: ProgramKeys, path: str, extra: str = "") -> None:
    sites.pages[path] = PAGE.format(partnerloop=sites.partnerloop, key=program.publishable_key, extra=extra)


def click_calls(page: Page) -> list[Request]:
    calls: list[Request] = []
    page.on("request", lambda request: calls.append(request) if "/api/v1/track/" in request.url else None)
    return calls


def stored_click(engine: Engine, click_id: str) -> Click | None:
    with Session(engine) as session:
        return session.get(Click, click_id)


def click_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Click)).scalar_one())


def test_a_landing_with_ref_records_one_click_and_decorates_checkout(
    sites: Sites, program: ProgramKeys, browser: Browser, engine: Engine
) -> None:
    link = make_link(sites, program, "spring")
    serve_page(sites, program, "/landing")
    context = browser.new_context()
    page = context.new_page()
    calls = click_calls(page)
    page.goto(sites.merchant() + "/landing?utm_source=x&ref=spring", wait_until="domcontentloaded")
    page.wait_for_function("() => window.partnerloop && window.partnerloop.clickId", timeout=15_000)
    click_id = page.evaluate("window.partnerloop.clickId")

    cookies = {cookie["name"]: cookie for cookie in context.cookies(sites.merchant())}
    assert cookies["pl_cid"]["value"] == click_id
    assert cookies["pl_cid"]["domain"] == "www.acme.test"
    assert cookies["pl_cid"]["sameSite"] == "Lax"
    assert 89 * 86400 < cookies["pl_cid"]["expires"] - time.time() <= 90 * 86400
    assert page.get_attribute("#buy", "href") == (
        f"https://buy.stripe.com/test_abc?prefilled_email=a%40b.test&client_reference_id={click_id}"
    )
    assert page.get_attribute("#checkout", "href") == (
        f"https://www.acme.test/checkout?plan=pro&client_reference_id={click_id}"
    )
    assert page.get_attribute("#other", "href") == "https://www.acme.test/about"
    assert page.input_value("#signup input[name=pl_cid]") == click_id
    assert [call.method for call in calls] == ["POST"]  # one request, no preflight
    assert eventually(lambda: stored_click(engine, click_id)).link_id == link["id"]

    # The next page of the same site, without a ref, reuses the cookie and records nothing new.
    page.goto(sites.merchant() + "/landing", wait_until="domcontentloaded")
    page.wait_for_function("() => window.partnerloop && window.partnerloop.clickId", timeout=15_000)
    assert page.evaluate("window.partnerloop.clickId") == click_id
    assert len(calls) == 1
    context.close()


def test_consent_required_waits_for_partnerloop_consent(
    sites: Sites, program: ProgramKeys, browser: Browser, engine: Engine
) -> None:
    make_link(sites, program, "spring")
    serve_page(sites, program, "/consent", 'data-consent="required"')
    context = browser.new_context()
    page = context.new_page()
    calls = click_calls(page)
    page.goto(sites.merchant() + "/consent?via=spring", wait_until="load")
    page.wait_for_function("() => window.partnerloop && window.partnerloop.loaded", timeout=15_000)
    page.wait_for_timeout(500)
    assert calls == []
    assert page.evaluate("window.partnerloop.clickId") is None
    assert "pl_cid" not in {cookie["name"] for cookie in context.cookies()}

    page.evaluate("window.partnerloop.consent()")
    page.wait_for_function("() => window.partnerloop.clickId", timeout=15_000)
    click_id = page.evaluate("window.partnerloop.clickId")
    assert {cookie["name"]: cookie["value"] for cookie in context.cookies()}["pl_cid"] == click_id
    eventually(lambda: stored_click(engine, click_id))
    context.close()


def test_a_foreign_origin_is_refused_logged_and_nothing_is_written(
    sites: Sites, program: ProgramKeys, browser: Browser, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    make_link(sites, program, "spring")
    serve_page(sites, program, "/landing")
    context = browser.new_context()
    page = context.new_page()
    calls = click_calls(page)
    # Without Access-Control-Allow-Origin the browser hides the 403 from the page: the fetch fails.
    with page.expect_console_message(lambda message: "partnerloop" in message.text or "fetch" in message.text,
                                     timeout=15_000):  # fmt: skip
        page.goto(sites.merchant("www.evil.test") + "/landing?ref=spring", wait_until="domcontentloaded")
    assert [call.method for call in calls] == ["POST"]
    assert any("ForeignOrigin" in record.getMessage() and "www.evil.test" in record.getMessage()
               for record in caplog.records)  # fmt: skip
    assert page.evaluate("window.partnerloop.clickId") is None
    assert context.cookies() == []
    assert page.get_attribute("#buy", "href") == "https://buy.stripe.com/test_abc?prefilled_email=a%40b.test"
    assert click_count(engine) == 0
    context.close()
