"""Pure decisions of site tracking (the JS snippet's click call): which origin may call, and which
landing URL is acceptable. No session, no clock."""

from __future__ import annotations

from urllib.parse import urlsplit

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.urls import ascii_host, host_is_allowed

MAX_REF_LENGTH = 64


def origin_host(origin: str | None) -> str | None:
    """The host of an `Origin` header ('https://shop.test:8443' -> 'shop.test'), None when absent or opaque."""
    if not origin or origin == "null":
        return None
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        return None
    try:
        return ascii_host(parts.hostname)
    except InvalidInput:
        return None


def origin_allowed(origin: str | None, allowed_domains: list[str]) -> bool:
    """True when `origin` is a web origin on one of the program's allowed domains (or a subdomain)."""
    host = origin_host(origin)
    return host is not None and host_is_allowed(host, allowed_domains)


def site_link_destination(landing_url: str) -> str:
    """Where a partner's on-demand "site" link points: the landing page's origin ('https://shop.test/')."""
    parts = urlsplit(landing_url)
    return f"{parts.scheme}://{parts.netloc}/"


def clean_ref(ref: str) -> str | None:
    """A referral code or link key as sent by the snippet, trimmed; None when it cannot be one."""
    text = ref.strip()
    if not text or len(text) > MAX_REF_LENGTH or any(not (char.isalnum() or char in "-_") for char in text):
        return None
    return text
