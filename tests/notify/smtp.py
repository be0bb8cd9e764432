"""A real SMTP server on loopback (aiosmtpd, in a thread) that records every message it receives.

Use: `with SmtpRecorder() as smtp: ... smtp.wait_for(to="x@y", subject="Reset")` or the `smtp` fixture
(import it into a conftest: `from tests.notify.smtp import smtp  # noqa: F401`).
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedEmail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[no-any-return]

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""  # type: ignore[no-any-return]

    def link(self, path_prefix: str) -> str:
        """The first URL path in the text starting with `path_prefix` (e.g. "/reset/")."""
        found = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", self.text)
        assert found, f"no {path_prefix} link in: {self.text}"
        return found.group(1)


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[ReceivedEmail] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(ReceivedEmail(envelope.mail_from, list(envelope.rcpt_tos), parsed))  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpRecorder:
    def __init__(self) -> None:
        self.port = _free_port()
        self._recorder = _Recorder()
        self._controller = Controller(self._recorder, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[ReceivedEmail]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    def start(self) -> SmtpRecorder:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpRecorder:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait_for(self, *, to: str, subject: str = "", timeout: float = 15.0, count: int = 1) -> ReceivedEmail:
        """The `count`-th message to `to` whose subject contains `subject`; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            matching = [m for m in self.messages if to in m.recipients and subject in m.subject]
            if len(matching) >= count:
                return matching[count - 1]
            if time.monotonic() > deadline:
                seen = [(m.recipients, m.subject) for m in self.messages]
                raise AssertionError(f"no email #{count} to {to} about {subject!r} within {timeout}s; got {seen}")
            time.sleep(0.05)

    def to(self, address: str) -> list[ReceivedEmail]:
        return [m for m in self.messages if address in m.recipients]


@pytest.fixture
def smtp() -> Iterator[SmtpRecorder]:
    with SmtpRecorder() as recorder:
        yield recorder


@pytest.fixture
def mail_client(engine: Any, database_url: str, smtp: SmtpRecorder) -> Iterator[Any]:
    """The app with SMTP_URL pointing at the loopback recorder, as a browser (TestClient)."""
    from fastapi.testclient import TestClient

    from partnerloop.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_url, smtp_url=smtp.url))
    with TestClient(app, base_url="http://testserver") as client:
        yield client
