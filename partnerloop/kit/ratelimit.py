"""Rate-limit counters (the `limits` library): where they live, and one limit per caller.

`counter_storage` is the one place that picks process memory or Redis; the login lockout
(`account/ratelimit.py`) and the per-API-key limit (`deps.py`) count in what it returns.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger("partnerloop.ratelimit")

_WARN_EVERY_S = 60.0


def counter_storage(redis_url: str | None, key_prefix: str) -> Storage:
    """Redis at `redis_url` (keys under `key_prefix`), else process memory.

    Redis errors surface as `limits.errors.StorageError`. When Redis cannot be used at all (the redis
    client is not installed, the URL is not one `limits` knows) the counters stay in memory, with a warning:
    each process then counts on its own.
    """
    if redis_url:
        try:
            shared = storage_from_string(redis_url, key_prefix=key_prefix, wrap_exceptions=True)
            if isinstance(shared, Storage):
                return shared
            log.warning("rate limits kept in memory: REDIS_URL names an asynchronous storage")
        except Exception as error:  # e.g. the redis client is missing: limits still hold, per process
            log.warning("rate limits kept in memory, Redis unusable (%s)", error)
    return MemoryStorage()


class StorageOutage:
    """Says once a minute that the counters cannot be reached: a Redis outage must not flood the log."""

    def __init__(self) -> None:
        self._warned_at = -math.inf

    def report(self, what: str, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("%s not counted, the rate-limit storage failed (%s)", what, error)


class KeyedLimit:
    """One limit (e.g. "10000/minute") for each caller, by a sliding window counter.

    The sliding window counter keeps two counters per caller (this window's and the last one's), so a
    check is a dictionary look-up in memory and one round trip to Redis, however high the limit; the
    moving window would keep one entry per request.
    """

    def __init__(self, storage: Storage, limit: str, namespace: str) -> None:
        self._item: RateLimitItem = parse(limit)
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._namespace = namespace
        self._outage = StorageOutage()

    def hit(self, caller: str) -> int | None:
        """Count one request of `caller`: None when it may proceed, else the seconds to wait (at least 1).

        Fails open: when the storage (Redis) is down, the request proceeds and a warning is logged.
        """
        try:
            if self._limiter.hit(self._item, self._namespace, caller):
                return None
            reset_at = self._limiter.get_window_stats(self._item, self._namespace, caller).reset_time
        except StorageError as error:
            self._outage.report(f"{self._namespace} request", error)
            return None
        return max(1, math.ceil(reset_at - time.time()))
