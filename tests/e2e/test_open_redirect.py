"""No open redirect: Chromium follows our 302s on a loopback capture server (port 80, where Chromium's
host rules send every *.test name). A deep link whose host holds a look-alike of a backslash or another
delimiter is refused; an allowed one lands on the merchant's site."""

from __future__ import annotations

import fcntl
import http.server
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import Engine

from tests.conftest import make_program
from tests.e2e.conftest import Server


class _Capture(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/favicon.ico":  # Chromium asks for one by itself
            self.server.hosts.append(self.headers.get("host", ""))  # type: ignore[attr-defined]
        body = b"<!doctype html><title>landed</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[list[str]]:
    """Every Host header that reached 127.0.0.1:80. The SQLite and PostgreSQL runs go side by side (make
    test), so the port is taken under a lock file that the other run waits for."""
    with open(Path(tempfile.gettempdir()) / "partnerloop-tests-port-80.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            site = http.server.ThreadingHTTPServer(("127.0.0.1", 80), _Capture)
        except OSError as error:  # the test needs the port a browser goes to for a URL without one
            raise AssertionError(f"the capture server needs 127.0.0.1:80 (run as root, port free): {error}") from error
        site.hosts = []  # type: ignore[attr-defined]
        threading.Thread(target=site.serve_forever, daemon=True).start()
        try:
            yield site.hosts  # type: ignore[attr-defined]
        finally:
            site.shutdown()
            site.server_close()


ATTACKS = [
    pytest.param("http://evil.test\uff3c.acme.test/", id="fullwidth backslash"),
    pytest.param("http://evil.test\ufe68.acme.test/", id="small backslash"),
    pytest.param("http://evil.test\uff0f.acme.test/", id="fullwidth solidus"),
    pytest.param("http://evil.test\uff1f.acme.test/", id="fullwidth question mark"),
    pytest.param("http://evil.test\uff03.acme.test/", id="fullwidth number sign"),
    pytest.param("http://acme.test\uff20evil.test/", id="fullwidth at sign"),
    pytest.param("http://evil.test%5c.acme.test/", id="percent-encoded backslash"),
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_chromium_never_reaches_another_host_through_a_deep_link(
    attack: str, server: Server, browser: Any, engine: Engine, capture: list[str]
) -> None:
    program = make_program(engine)
    api = httpx.Client(base_url=server.base_url, headers=program.headers, timeout=10)
    partner = api.post("/api/v1/partners", json={"email": "p@example.com", "name": "P"}).json()
    link = api.post("/api/v1/links", json={"partner_id": partner["id"], "key": "deep",
                                           "destination_url": "http://shop.acme.test/"})  # fmt: skip
    assert link.status_code == 201, link.text
    refused = api.post("/api/v1/links", json={"partner_id": partner["id"], "destination_url": attack})
    assert refused.status_code == 422, refused.text  # the same check guards a link's destination

    context = browser.new_context()
    try:
        page = context.new_page()
        allowed = page.goto(f"{server.base_url}/go/deep?to={quote('http://shop.acme.test/ok')}")
        assert allowed is not None and allowed.status == 200 and capture == ["shop.acme.test"]  # the path works
        answer = page.goto(f"{server.base_url}/go/deep?to={quote(attack)}")
        assert answer is not None and answer.status == 400
        assert capture == ["shop.acme.test"], capture  # nothing reached evil.test (nor anything else)
        assert page.url.startswith(server.base_url)
    finally:
        context.close()
