"""Pure decisions of the redirect: deep links, link-domain paths, unique clicks (UTMs are link/rules.py).

No clock, no I/O: the cache prepares targets with these, the redirect and the flusher call them.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.urls import check_destination
from partnerloop.tracking.click_ids import looks_like_click_id

UNIQUE_WINDOW_S = 3600.0  # the same visitor on the same link within this long counts once


def deep_link_target(query_string: bytes, allowed_domains: tuple[str, ...]) -> str | None:
    """The `to` URL of a /go/{key}?to=… request when it is on the allowed domains; None when the query
    names no `to` (the link's own destination is used). Raises InvalidInput for a `to` off the domains."""
    try:
        text = query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The query string is not valid UTF-8.") from None
    targets = [value for name, value in parse_qsl(text, keep_blank_values=True) if name == "to"]
    if not targets:
        return None
    if len(targets) > 1:
        raise InvalidInput("Give at most one 'to' parameter.")
    return check_destination(targets[0], list(allowed_domains))


def link_domain_key(path: str) -> str | None:
    """The key of a `/{key}` path on a link domain, or None when the path is anything else (those requests
    go to the application). Keys are letters, digits, '-' and '_': '/favicon.ico' or '/a/b' are no keys."""
    if len(path) < 2 or path.find("/", 1) != -1 or "." in path:
        return None
    return path[1:]


def host_of(header: bytes) -> bytes:
    """The Host header as looked up among link domains: lower case, without a port."""
    return header.lower().partition(b":")[0].rstrip(b".")


def visitor_of(ip_truncated: str | None, user_agent: str | None) -> str:
    """A visitor id: 32 hex characters of a hash of the truncated IP and user agent (neither is stored in it
    readably)."""
    digest = hashlib.blake2b(f"{ip_truncated or ''}\x00{user_agent or ''}".encode(), digest_size=16)
    return digest.hexdigest()


def is_unique_click(is_bot: bool, previous_at: float | None, at: float) -> bool:
    """A click counts as unique unless it is a bot's, or the same visitor clicked the same link within the
    previous UNIQUE_WINDOW_S (any click of theirs, counted or not, restarts the window)."""
    if is_bot:
        return False
    return previous_at is None or at - previous_at >= UNIQUE_WINDOW_S


def cookie_click_id(raw_cookie: bytes) -> str | None:
    """The click id in a Cookie header's pl_cid (the one the redirect set earlier), or None."""
    if not raw_cookie:
        return None
    for item in raw_cookie.split(b";"):
        name, _, value = item.strip().partition(b"=")
        if name == b"pl_cid":
            text = value.strip().decode("ascii", "replace")
            return text if looks_like_click_id(text) else None
    return None
