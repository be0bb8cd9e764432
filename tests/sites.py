"""Two origins on loopback for browser tests: Partnerloop served by uvicorn in a thread, and a merchant's
site serving the HTML a test puts in `pages` (path -> HTML)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from partnerloop.app import create_app
from partnerloop.config import Settings
from tests.jobs.processes import free_port
from tests.tracking.helpers import eventually


@contextmanager
def served_partnerloop(settings: Settings) -> Iterator[str]:
    """The app on a free loopback port (jobs not run in process); yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"base_url": base_url, "run_jobs_in_process": False}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(lambda: server.started, timeout=20)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def merchant_site(
    host: str, pages: dict[str, str], content_type: str = "text/html; charset=utf-8", requested: list[str] | None = None
) -> Iterator[int]:
    """A merchant's site on `host` (a loopback address) answering `pages[path]` (else a stub page) as
    `content_type`, appending each path asked for to `requested`; yields its port."""

    class Merchant(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if requested is not None:
                requested.append(self.path)
            body = pages.get(self.path.split("?", 1)[0], "<!doctype html><p>merchant</p>").encode()
            self.send_response(200)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer((host, 0), Merchant)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield int(site.server_address[1])
    finally:
        site.shutdown()
        site.server_close()
