"""Stripe rules as tables: waiting for a click that is not written yet, and its backoff; signature times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from partnerloop.integrations.stripe.rules import (
    CLICK_WAIT_LIMIT,
    click_retry_round,
    is_signed_in_the_future,
    looks_like_click_id,
    signature_timestamp,
    without_unknown_click,
)

CLICK_ID = "01m8w342peakacmhz6kv0x9h05"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(CLICK_ID, True, id="a ULID as the redirect mints it can be a click id"),
        pytest.param(CLICK_ID.upper(), False, id="an upper-case ULID is not one of ours"),
        pytest.param(CLICK_ID[:-1], False, id="25 characters is not a click id"),
        pytest.param(CLICK_ID[:-1] + "u", False, id="a letter outside Crockford base32 is not a click id"),
        pytest.param("order-1234", False, id="a merchant's own reference is not a click id"),
    ],
)
def test_looks_like_click_id(value: str, expected: bool) -> None:
    assert looks_like_click_id(value) is expected


@pytest.mark.parametrize(
    ("waited", "expected"),
    [
        pytest.param(timedelta(0), 0, id="nothing is retried at once"),
        pytest.param(timedelta(seconds=29), 0, id="nothing is retried before 30 seconds"),
        pytest.param(timedelta(seconds=30), 1, id="the first retry comes at 30 seconds"),
        pytest.param(timedelta(seconds=59), 1, id="no second retry before a minute"),
        pytest.param(timedelta(minutes=1), 2, id="the second retry comes at a minute"),
        pytest.param(timedelta(minutes=2), 3, id="the gaps double: 2 minutes is the third"),
        pytest.param(timedelta(minutes=64), 8, id="64 minutes is the eighth retry, the last doubling"),
        pytest.param(timedelta(minutes=123), 8, id="after an hour's gap the next is not yet due at 123 minutes"),
        pytest.param(timedelta(minutes=124), 9, id="gaps stop growing at an hour: 124 minutes is the ninth"),
        pytest.param(timedelta(minutes=184), 10, id="and hourly after that"),
        pytest.param(
            CLICK_WAIT_LIMIT - timedelta(seconds=1), 30, id="the last hourly retry before 24 hours is the 30th"
        ),
        pytest.param(CLICK_WAIT_LIMIT, 31, id="the 24 hour limit is a round of its own"),
        pytest.param(timedelta(days=30), 31, id="no round after the limit"),
    ],
)
def test_click_retry_round(waited: timedelta, expected: int) -> None:
    assert click_retry_round(waited) == expected


@pytest.mark.parametrize(
    ("click_id", "waited", "reason"),
    [
        pytest.param(CLICK_ID, timedelta(0), None, id="a click id we do not have yet is waited for"),
        pytest.param(CLICK_ID, CLICK_WAIT_LIMIT - timedelta(seconds=1), None, id="up to just under 24 hours"),
        pytest.param(
            CLICK_ID,
            CLICK_WAIT_LIMIT,
            f"click {CLICK_ID} was not found within 24 h of the checkout (lost before it was written)",
            id="after 24 hours the checkout goes on without its click",
        ),
        pytest.param(
            "order-1234",
            timedelta(0),
            "client_reference_id / pl_cid order-1234 is not a Partnerloop click id",
            id="a reference that cannot be a click id is not waited for",
        ),
    ],
)
def test_without_unknown_click(click_id: str, waited: timedelta, reason: str | None) -> None:
    assert without_unknown_click(click_id, waited) == reason


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("t=1700000000,v1=abc", 1700000000, id="the t of a signature"),
        pytest.param("v1=abc, t=1700000000", 1700000000, id="t after the signature, with a space"),
        pytest.param("v1=abc", None, id="no t"),
        pytest.param("t=-5,v1=abc", None, id="a t that is not a count of seconds"),
    ],
)
def test_signature_timestamp(header: str, expected: int | None) -> None:
    assert signature_timestamp(header) == expected


@pytest.mark.parametrize(
    ("signed_at", "expected"),
    [
        pytest.param(1_000, False, id="signed now is fine"),
        pytest.param(1_300, False, id="300 s ahead is clock skew we accept"),
        pytest.param(1_301, True, id="301 s ahead is refused"),
        pytest.param(500, False, id="the past is the library's to judge"),
    ],
)
def test_is_signed_in_the_future(signed_at: int, expected: bool) -> None:
    assert is_signed_in_the_future(signed_at, 1_000.0, 300) is expected
