"""Pure decisions of /metrics: who may scrape it."""

from __future__ import annotations

import hmac
import ipaddress
from enum import StrEnum


class ScrapeRefusal(StrEnum):
    TOKEN_REQUIRED = "token_required"  # METRICS_TOKEN is set and the request did not bear it
    LOOPBACK_ONLY = "loopback_only"  # no METRICS_TOKEN: only clients on this host may scrape


def is_loopback(host: str | None) -> bool:
    """Whether `host` (the ASGI client address) is 127.0.0.0/8 or ::1; names and unknowns are not."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def scrape_refusal(token: str | None, authorization: str | None, client_host: str | None) -> ScrapeRefusal | None:
    """None when a scrape may be answered. With a token: `Authorization: Bearer <token>` from any address
    (compared in constant time); without one: loopback clients only."""
    if token:
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return None
        return ScrapeRefusal.TOKEN_REQUIRED
    return None if is_loopback(client_host) else ScrapeRefusal.LOOPBACK_ONLY
