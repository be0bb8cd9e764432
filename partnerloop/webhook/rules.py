"""Pure decisions of outbound webhooks: subscriptions, the retry schedule, what an answer means, which
addresses are public. No session, no clock, no randomness (callers pass `now` and `jitter`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit

# Standard Webhooks' recommended schedule (as Svix runs it): after the first try, these delays.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = 1 + len(RETRY_SCHEDULE)
JITTER = 0.1  # each delay is moved by up to ±10 %, so that failed receivers are not hit in waves
RETRY_AFTER_CAP = timedelta(hours=10)  # a receiver's Retry-After is honoured up to the longest step
DISABLE_AFTER_FAILING = timedelta(days=5)
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
WILDCARD = "*"


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DISABLED = "disabled"

    @property
    def receives(self) -> bool:
        return self is EndpointStatus.ACTIVE


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self is not DeliveryStatus.PENDING


def subscribes(events: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to `events` receives `event_type`."""
    return WILDCARD in events or event_type in events


def receives_event(events: list[str], created_at: datetime, event_type: str, event_at: datetime) -> bool:
    """Whether an active endpoint subscribed to `events` since `created_at` receives an event of `event_type`
    recorded at `event_at`: an endpoint hears what happens after it was added, however late the fan-out runs."""
    return created_at <= event_at and subscribes(events, event_type)


def unknown_event_types(events: list[str], known: frozenset[str]) -> list[str]:
    """The requested event types that are neither known nor "*"."""
    return [event for event in events if event != WILDCARD and event not in known]


# ---------------------------------------------------------------- answers


class AttemptVerdict(StrEnum):
    SUCCEEDED = "succeeded"  # 2xx
    GONE = "gone"  # 410: the receiver asks us to stop; the endpoint is disabled at once
    FAILED = "failed"  # anything else: non-2xx (redirects included), timeout, refused, reset, unsafe


def verdict(status_code: int | None) -> AttemptVerdict:
    """What one HTTP answer means (None: no answer at all). A redirect is never followed: a failure."""
    if status_code is None:
        return AttemptVerdict.FAILED
    if 200 <= status_code < 300:
        return AttemptVerdict.SUCCEEDED
    if status_code == 410:
        return AttemptVerdict.GONE
    return AttemptVerdict.FAILED


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a delay from `now`; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(timedelta(0), when - now)


def retry_delay(attempts_made: int, jitter: float, retry_after: timedelta | None = None) -> timedelta | None:
    """The wait before the next attempt after `attempts_made` failed ones (None: no attempt left).

    `jitter` in [0, 1) moves the scheduled step by up to ±JITTER; a Retry-After longer than the step
    wins, up to RETRY_AFTER_CAP.
    """
    if attempts_made < 1 or attempts_made >= MAX_ATTEMPTS:
        return None
    step = RETRY_SCHEDULE[attempts_made - 1]
    delay = step * (1 - JITTER + 2 * JITTER * min(max(jitter, 0.0), 1.0))
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


class EndpointChange(StrEnum):
    NONE = "none"
    HEALTHY = "healthy"  # a success: no longer failing
    FAILING = "failing"  # the first failure after a success: failing from now
    DISABLE_GONE = "disable_gone"
    DISABLE_FAILING = "disable_failing"


@dataclass(frozen=True)
class AfterAttempt:
    delivery_status: DeliveryStatus
    next_attempt_at: datetime | None
    endpoint: EndpointChange


def after_attempt(
    *,
    attempts_made: int,
    result: AttemptVerdict,
    now: datetime,
    jitter: float,
    retry_after: timedelta | None,
    failing_since: datetime | None,
) -> AfterAttempt:
    """The delivery's and the endpoint's state after an attempt with `result`."""
    if result is AttemptVerdict.SUCCEEDED:
        return AfterAttempt(DeliveryStatus.SUCCEEDED, None, EndpointChange.HEALTHY)
    if result is AttemptVerdict.GONE:
        return AfterAttempt(DeliveryStatus.FAILED, None, EndpointChange.DISABLE_GONE)
    if failing_since is not None and now - failing_since >= DISABLE_AFTER_FAILING:
        return AfterAttempt(DeliveryStatus.FAILED, None, EndpointChange.DISABLE_FAILING)
    change = EndpointChange.FAILING if failing_since is None else EndpointChange.NONE
    delay = retry_delay(attempts_made, jitter, retry_after)
    if delay is None:
        return AfterAttempt(DeliveryStatus.FAILED, None, change)
    return AfterAttempt(DeliveryStatus.PENDING, now + delay, change)


def signing_secrets(
    current: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign a request at `now`: the current one, and the previous one during its grace period."""
    if previous and previous_expires_at is not None and now < previous_expires_at:
        return [current, previous]
    return [current]


# ---------------------------------------------------------------- addresses (SSRF)


@dataclass(frozen=True)
class UrlParts:
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook endpoint by its shape alone (None: it can)."""
    if len(url) > 2000:
        return "is longer than 2000 characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if port == 0:
        return "has port 0"
    if parts.fragment:
        return "must not carry a #fragment"
    return None


def url_parts(url: str) -> UrlParts:
    """The parts of a URL that url_problem accepted."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return UrlParts(parts.scheme, parts.hostname.rstrip(".").lower(), port, target)


def address_problem(address: str) -> str | None:
    """Why a receiver may not be at `address` (None: a public unicast address)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if ip.is_loopback:
        return "is a loopback address"
    if ip.is_link_local:
        return "is a link-local address (such as the cloud metadata service 169.254.169.254)"
    if ip.is_multicast:
        return "is a multicast address"
    if ip.is_unspecified:
        return "is the unspecified address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "is a unique local (ULA) address"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "is a private or reserved address"
    return None
