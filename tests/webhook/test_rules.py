"""The pure decisions of outbound webhooks, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.webhook.rules import (
    MAX_ATTEMPTS,
    RETRY_SCHEDULE,
    AttemptVerdict,
    DeliveryStatus,
    EndpointChange,
    address_problem,
    after_attempt,
    parse_retry_after,
    retry_delay,
    signing_secrets,
    subscribes,
    unknown_event_types,
    url_problem,
    verdict,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "jitter", "retry_after", "expected"),
    [
        (1, 0.5, None, timedelta(seconds=5)),
        (2, 0.5, None, timedelta(minutes=5)),
        (3, 0.5, None, timedelta(minutes=30)),
        (4, 0.5, None, timedelta(hours=2)),
        (5, 0.5, None, timedelta(hours=5)),
        (6, 0.5, None, timedelta(hours=10)),
        (7, 0.5, None, timedelta(hours=10)),
        (8, 0.5, None, None),
        (1, 0.0, None, timedelta(seconds=4.5)),
        (1, 1.0, None, timedelta(seconds=5.5)),
        (1, 0.5, timedelta(seconds=120), timedelta(seconds=120)),
        (2, 0.5, timedelta(seconds=10), timedelta(minutes=5)),
        (1, 0.5, timedelta(days=3), timedelta(hours=10)),
    ],
    ids=[
        "after the first failure: 5 s",
        "after the second: 5 min",
        "after the third: 30 min",
        "after the fourth: 2 h",
        "after the fifth: 5 h",
        "after the sixth: 10 h",
        "after the seventh: 10 h",
        "after the eighth: none left",
        "the lowest jitter takes 10 % off",
        "the highest jitter adds 10 %",
        "a longer Retry-After wins",
        "a shorter Retry-After does not shorten the step",
        "Retry-After is capped at 10 h",
    ],
)
def test_retry_delay(attempts: int, jitter: float, retry_after: timedelta | None, expected: timedelta | None) -> None:
    assert retry_delay(attempts, jitter, retry_after) == expected


def test_the_schedule_is_eight_attempts_over_about_28_hours() -> None:
    assert MAX_ATTEMPTS == 8 and sum(RETRY_SCHEDULE, timedelta()) == timedelta(hours=27, minutes=35, seconds=5)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, AttemptVerdict.SUCCEEDED),
        (204, AttemptVerdict.SUCCEEDED),
        (299, AttemptVerdict.SUCCEEDED),
        (301, AttemptVerdict.FAILED),
        (302, AttemptVerdict.FAILED),
        (308, AttemptVerdict.FAILED),
        (400, AttemptVerdict.FAILED),
        (410, AttemptVerdict.GONE),
        (429, AttemptVerdict.FAILED),
        (500, AttemptVerdict.FAILED),
        (None, AttemptVerdict.FAILED),
    ],
    ids=lambda value: str(value),
)
def test_verdict(status: int | None, expected: AttemptVerdict) -> None:
    assert verdict(status) is expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", timedelta(seconds=120)),
        (" 7 ", timedelta(seconds=7)),
        ("Thu, 03 Dec 2026 12:05:00 GMT", timedelta(minutes=5)),
        ("Thu, 03 Dec 2026 11:00:00 GMT", timedelta(0)),
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
    ],
    ids=[
        "seconds",
        "seconds with spaces",
        "an HTTP date",
        "a date in the past",
        "words",
        "empty",
        "absent",
        "negative",
    ],
)
def test_parse_retry_after(header: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    ("attempts", "result", "failing_since", "status", "endpoint", "next_in"),
    [
        (1, AttemptVerdict.SUCCEEDED, None, DeliveryStatus.SUCCEEDED, EndpointChange.HEALTHY, None),
        (3, AttemptVerdict.SUCCEEDED, NOW - timedelta(days=2), DeliveryStatus.SUCCEEDED, EndpointChange.HEALTHY, None),
        (1, AttemptVerdict.GONE, None, DeliveryStatus.FAILED, EndpointChange.DISABLE_GONE, None),
        (1, AttemptVerdict.FAILED, None, DeliveryStatus.PENDING, EndpointChange.FAILING, timedelta(seconds=5)),
        (
            2,
            AttemptVerdict.FAILED,
            NOW - timedelta(hours=1),
            DeliveryStatus.PENDING,
            EndpointChange.NONE,
            timedelta(minutes=5),
        ),
        (8, AttemptVerdict.FAILED, NOW - timedelta(days=1), DeliveryStatus.FAILED, EndpointChange.NONE, None),
        (
            2,
            AttemptVerdict.FAILED,
            NOW - timedelta(days=5),
            DeliveryStatus.FAILED,
            EndpointChange.DISABLE_FAILING,
            None,
        ),
        (
            2,
            AttemptVerdict.FAILED,
            NOW - timedelta(days=4, hours=23),
            DeliveryStatus.PENDING,
            EndpointChange.NONE,
            timedelta(minutes=5),
        ),
    ],
    ids=[
        "a success ends the delivery",
        "a success heals a failing endpoint",
        "410 disables at once",
        "a first failure retries in 5 s and marks the endpoint failing",
        "a later failure retries on schedule",
        "the eighth failure ends the delivery",
        "five days of failures disable the endpoint",
        "just under five days keeps trying",
    ],
)
def test_after_attempt(
    attempts: int,
    result: AttemptVerdict,
    failing_since: datetime | None,
    status: DeliveryStatus,
    endpoint: EndpointChange,
    next_in: timedelta | None,
) -> None:
    decided = after_attempt(
        attempts_made=attempts, result=result, now=NOW, jitter=0.5, retry_after=None, failing_since=failing_since
    )
    assert decided.delivery_status is status and decided.endpoint is endpoint
    assert decided.next_attempt_at == (None if next_in is None else NOW + next_in)


def test_subscriptions() -> None:
    assert subscribes(["*"], "sale.created") and subscribes(["sale.created"], "sale.created")
    assert not subscribes(["lead.created"], "sale.created")
    assert unknown_event_types(["*", "sale.created", "sale.made"], frozenset({"sale.created"})) == ["sale.made"]


def test_signing_secrets_during_and_after_the_grace_period() -> None:
    assert signing_secrets("new", "old", NOW + timedelta(seconds=1), NOW) == ["new", "old"]
    assert signing_secrets("new", "old", NOW, NOW) == ["new"]
    assert signing_secrets("new", None, None, NOW) == ["new"]


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("fd00::1", True),
        ("fc00::1", True),
        ("fe80::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("::", True),
        ("93.184.215.14", False),
        ("8.8.8.8", False),
        ("172.32.0.1", False),
        ("2606:4700:4700::1111", False),
    ],
    ids=lambda value: str(value),
)
def test_address_table(address: str, refused: bool) -> None:
    assert (address_problem(address) is not None) is refused


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hooks.example.com/in", True),
        ("http://hooks.example.com:8080/in?x=1", True),
        ("ftp://example.com/", False),
        ("file:///etc/passwd", False),
        ("gopher://example.com/", False),
        ("https://", False),
        ("https://user:pw@example.com/", False),
        ("https://example.com:0/", False),
        ("https://example.com:99999/", False),
        ("https://example.com/#frag", False),
        ("example.com/hook", False),
    ],
    ids=lambda value: str(value),
)
def test_url_shape(url: str, ok: bool) -> None:
    assert (url_problem(url) is None) is ok
