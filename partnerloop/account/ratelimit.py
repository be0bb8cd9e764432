"""Rate limits on login and password reset, per client IP and per account (the `limits` library).

Counted in process memory, or in Redis when REDIS_URL is set so that every web process shares them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from partnerloop.config import Settings

log = logging.getLogger("partnerloop.account")


@dataclass(frozen=True)
class Limit:
    name: str
    per_ip: RateLimitItem
    per_account: RateLimitItem


LOGIN = Limit("login", per_ip=parse("60/15minutes"), per_account=parse("10/15minutes"))
PASSWORD_RESET = Limit("reset", per_ip=parse("20/hour"), per_account=parse("5/hour"))


class AttemptLimiter:
    """One per web process (on app.state): `allow` counts an attempt and says whether it may proceed."""

    def __init__(self, settings: Settings) -> None:
        storage: Storage = MemoryStorage()
        if settings.redis_url:
            try:
                shared = storage_from_string(settings.redis_url)
                if isinstance(shared, Storage):
                    storage = shared
            except Exception as error:  # e.g. the redis client is not installed: limits still apply per process
                log.warning("rate limits kept in memory, Redis unusable (%s)", error)
        self._limiter = MovingWindowRateLimiter(storage)

    def allow(self, limit: Limit, *, ip: str, account: str) -> bool:
        """Count one attempt from `ip` on `account`; False when either is over its limit."""
        ip_ok = self._limiter.hit(limit.per_ip, limit.name, "ip", ip)
        account_ok = self._limiter.hit(limit.per_account, limit.name, "account", account.strip().lower())
        return ip_ok and account_ok
