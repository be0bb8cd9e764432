"""End-to-end wiring: a real `partnerloop serve` process, Debian's Chromium driven by Playwright, a real SMTP
server on loopback. Screenshots of the main pages go to artifacts/screenshots/ (CI keeps them as artifacts)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from sqlalchemy import Engine

from tests.jobs.processes import free_port
from tests.notify.smtp import SmtpRecorder, smtp  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}  # the pages must work on a phone: some screenshots are taken at this size


@dataclass
class Server:
    base_url: str
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def serve_env() -> dict[str, str]:
    """Extra environment of `partnerloop serve`: a module overrides this fixture (e.g. SMTP_URL="" for no SMTP)."""
    return {}


@pytest.fixture
def server(
    engine: Engine,
    database_url: str,
    smtp: SmtpRecorder,  # noqa: F811
    tmp_path: Path,
    serve_env: dict[str, str],
) -> Iterator[Server]:
    """`partnerloop serve` on a free loopback port, on the suite's (migrated, emptied after the test) database."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "BASE_URL": base_url,
        "SMTP_URL": smtp.url,
        "JOB_POLL_INTERVAL_MS": "50",
        "CLICK_FLUSH_INTERVAL_MS": "50",
        "CLICK_SPILL_DIR": str(tmp_path / "click-spill"),  # not ./click-spill of the working directory
        **serve_env,
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "partnerloop.cli", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(base_url, log, process)
    try:
        deadline = time.monotonic() + 180  # about 18 s alone; both test runs side by side on 2 cores take longer
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not come up:\n{server.output()}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Landing(http.server.BaseHTTPRequestHandler):
    """The merchant's landing page: what a visitor sees after the redirect."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        body = b"<!doctype html><html lang='en'><title>Acme</title><h1>Acme Analytics</h1></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@dataclass
class MerchantSite:
    origin: str  # http://shop.acme.test:<port>: Chromium resolves *.acme.test to loopback
    paths: list[str]


@pytest.fixture
def merchant_site() -> Iterator[MerchantSite]:
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    site.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield MerchantSite(f"http://shop.acme.test:{site.server_port}", site.paths)  # type: ignore[attr-defined]
    finally:
        site.shutdown()
        site.server_close()


class Browsing:
    """Browser contexts (one per person) on the server, each failing the test on a console error."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []
        self.console_errors: list[str] = []

    def person(self, *, phone: bool = False) -> Page:
        # Headless Chromium says "HeadlessChrome" in its user agent, which the click tracker counts as a bot.
        agent = self.browser.new_browser_cdp_session().send("Browser.getVersion")["userAgent"]
        context = self.browser.new_context(
            user_agent=str(agent).replace("HeadlessChrome", "Chrome"),
            base_url=self.server.base_url,
            viewport=PHONE if phone else {"width": 1280, "height": 900},
            is_mobile=phone,
            has_touch=phone,
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        url = str(message.location.get("url", ""))
        if message.type == "error" and not url.endswith("/favicon.ico"):  # browsers ask for one by themselves
            self.console_errors.append(f"{message.text} ({url})")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def browsing(browser: Browser, server: Server) -> Iterator[Browsing]:
    session = Browsing(browser, server)
    try:
        yield session
    finally:
        session.close()
    # A script error or a resource the CSP blocked (e.g. anything from the internet) shows in the console.
    assert session.console_errors == [], session.console_errors


_UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea, button, img, a"))
  .filter(el => !(el.type === "hidden") && el.getClientRects().length > 0)
  .filter(el => {
    if (el.tagName === "IMG") return !el.hasAttribute("alt");
    if (el.tagName === "BUTTON" || el.tagName === "A") return !(el.innerText || "").trim() && !el.getAttribute("aria-label");
    return !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby");
  })
  .map(el => el.outerHTML.slice(0, 120))"""


_FIRST_IN_TAB_ORDER = """() => {
  const focusable = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]:not([tabindex="-1"])');
  return focusable.length ? focusable[0].textContent.trim() : null;
}"""


def screenshot(page: Page, name: str) -> None:
    """Save the page to artifacts/screenshots/<name>.png, after checking what every page must have: a language,
    one h1, a label for every control, a text for every image and link, and a skip link first in the tab order."""
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() == 1, f"{name}: {page.locator('h1').count()} h1 elements"
    assert page.evaluate(_UNLABELLED) == [], f"{name}: controls without a label"
    assert page.evaluate(_FIRST_IN_TAB_ORDER) == "Skip to content", f"{name}: the skip link is not first"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
