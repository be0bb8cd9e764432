"""What every outside service's sender shares, as a pure decision: when to try a failed send again."""

from __future__ import annotations

MAX_TRIES = 8
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600, 7200)
MAX_RETRY_AFTER_SECONDS = 3600


def retry_delay(tries_made: int, status_code: int | None, retry_after: str | None) -> float | None:
    """Seconds until the next try after a failed one, or None to give up: 429 and 5xx and no answer are
    retried (Retry-After honoured, at most an hour), any other 4xx is the service saying no (bad URL, revoked)."""
    if tries_made >= MAX_TRIES:
        return None
    if status_code is not None and status_code != 429 and status_code < 500:
        return None
    if status_code == 429 and retry_after and retry_after.strip().isdigit():
        return float(min(int(retry_after.strip()), MAX_RETRY_AFTER_SECONDS))
    return float(BACKOFF_SECONDS[min(tries_made - 1, len(BACKOFF_SECONDS) - 1)])
