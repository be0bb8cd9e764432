"""/docs and /redoc in Chromium against `partnerloop serve`: they render with no request leaving loopback, and the
API key entered through Swagger UI's Authorize button opens the API."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, Route, expect
from sqlalchemy import Engine

from tests.conftest import make_program
from tests.e2e.conftest import SCREENSHOTS, Browsing, Server


def _record_requests(page: Page) -> list[str]:
    """Every request the page makes; one to any host but loopback is refused (and fails the test below)."""
    urls: list[str] = []

    def handle(route: Route) -> None:
        urls.append(route.request.url)
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", handle)
    return urls


def test_swagger_ui_renders_offline_and_its_authorize_button_takes_the_api_key(
    server: Server, browsing: Browsing, engine: Engine
) -> None:
    program = make_program(engine)
    page = browsing.person()
    requests = _record_requests(page)
    page.goto("/docs")
    authorize = page.locator("button.authorize")
    expect(authorize).to_be_visible()
    expect(page.get_by_text("Create a partner").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-docs.png"), full_page=False)

    authorize.click()
    page.locator(".auth-container input").fill(program.api_key)
    page.locator(".auth-btn-wrapper button.authorize").click()
    expect(page.get_by_role("heading", name="Authorized")).to_be_visible()
    page.get_by_role("button", name="Close", exact=True).click()

    operation = page.locator(".opblock-get:has(.opblock-summary-path[data-path='/api/v1/program'])")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    expect(operation.locator(".live-responses-table .microlight").first).to_contain_text(program.id)

    page.screenshot(path=str(SCREENSHOTS / "api-docs-try-it-out.png"), full_page=False)
    outside = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], outside
    assert any("/docs/assets/swagger-ui-bundle.js" in url for url in requests), requests


def test_redoc_renders_offline(server: Server, browsing: Browsing) -> None:
    page = browsing.person()
    requests = _record_requests(page)
    page.goto("/redoc")
    expect(page.get_by_role("heading", name="Create a partner")).to_be_attached(timeout=20_000)
    expect(page.get_by_role("heading", name="Partnerloop (0.1.0)")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "api-redoc.png"), full_page=False)
    outside = [url for url in requests if urlsplit(url).hostname != "127.0.0.1"]
    assert outside == [], outside
    # ReDoc's sidebar always shows its maker's logo from their CDN: the page's CSP refuses it (so it never leaves
    # loopback, and the logo is simply not shown); that refusal is the one console message expected.
    refused = [message for message in browsing.console_errors if "https://cdn.redoc.ly/redoc/logo-mini.svg" in message]
    assert len(refused) <= 1 and all("Content Security Policy" in message for message in refused), refused
    for message in refused:
        browsing.console_errors.remove(message)
