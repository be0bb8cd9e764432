"""Unsubscribe links, one scheme for every list: a scope (what to stop) signed with SECRET_KEY, one URL
that shows a confirmation page (GET) and takes RFC 8058's one-click POST, and the `List-Unsubscribe`
headers. Each domain with a list adds a topic (the scope's first word) that stops it: notifications here,
engagement's newsletters on import, as conversion/screens lets domains listen without an import circle."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.models import Program

# (session, the scope's parts after the topic) -> the program whose list was left, or None (no such target)
Topic = Callable[[Session, list[str]], Program | None]

_topics: dict[str, Topic] = {}

PATH = "/email/unsubscribe"


def add_topic(name: str, stop: Topic) -> None:
    _topics[name] = stop


def sign(secret_key: str, scope: str) -> str:
    """The token of a scope (40 hex characters of its HMAC-SHA256)."""
    return hmac.new(secret_key.encode(), scope.encode(), hashlib.sha256).hexdigest()[:40]


def is_signed(secret_key: str, scope: str, token: str) -> bool:
    return hmac.compare_digest(sign(secret_key, scope), token)


def url(settings: Settings, scope: str) -> str:
    """The one-click unsubscribe address of a scope (the page and the RFC 8058 POST target)."""
    query = urlencode({"s": scope, "t": sign(settings.secret_key, scope)})
    return f"{settings.base_url.rstrip('/')}{PATH}?{query}"


def headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: mail clients show an unsubscribe button that POSTs once."""
    return {"List-Unsubscribe": f"<{unsubscribe_url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def stop(session: Session, scope: str) -> Program | None:
    """Apply a checked scope: its topic stops the list; None when the topic or its target is unknown."""
    topic, _, rest = scope.partition(":")
    handler = _topics.get(topic)
    return handler(session, rest.split(":")) if handler is not None else None


def target(session: Session, scope: str) -> Program | None:
    """The program of a scope without changing anything (for the confirmation page)."""
    parts = scope.split(":")
    return session.get(Program, parts[1]) if len(parts) > 1 and parts[0] in _topics else None
