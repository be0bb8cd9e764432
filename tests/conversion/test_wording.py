"""How pages word an attribution and name a customer (pure): partner, channel and time, never raw ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.conversion.wording import (
    AttributionFacts,
    Channel,
    attribution_words,
    customer_label,
    mask_email,
    span_words,
)

SIGNED_UP = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "words"),
    [
        pytest.param(timedelta(seconds=40), "40 s", id="under a minute reads in seconds"),
        pytest.param(timedelta(minutes=5, seconds=59), "5 min", id="under an hour reads in whole minutes"),
        pytest.param(timedelta(hours=2, minutes=59), "2 h", id="under a day reads in whole hours"),
        pytest.param(timedelta(days=1, hours=5), "1 day", id="one day is singular"),
        pytest.param(timedelta(days=3, hours=23), "3 days", id="days round down"),
        pytest.param(timedelta(seconds=-3), "under 1 s", id="a click a little later within the clock skew"),
        pytest.param(timedelta(milliseconds=400), "under 1 s", id="within the same second: never 0 s"),
    ],
)  # fmt: skip
def test_time_spans_read_as_people_say_them(span: timedelta, words: str) -> None:
    assert span_words(span) == words


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        pytest.param(
            AttributionFacts("Jane Cooper", Channel.LINK, "jane", SIGNED_UP - timedelta(hours=2), SIGNED_UP),
            "Jane Cooper · link /go/jane · 2 h before sign-up", id="a link click names the link and the time to sign-up",
        ),
        pytest.param(
            AttributionFacts("Jane Cooper", Channel.LINK, "jane", SIGNED_UP - timedelta(days=3), SIGNED_UP, "sale"),
            "Jane Cooper · link /go/jane · 3 days before sale", id="a click before a sale says sale",
        ),
        pytest.param(
            AttributionFacts("Jane Cooper", Channel.COUPON, "SPRING20"),
            "Jane Cooper · coupon SPRING20", id="a coupon names its code and no time",
        ),
        pytest.param(
            AttributionFacts("Jane Cooper", Channel.CODE, "JANE42"),
            "Jane Cooper · referral code JANE42", id="a referral code names the code",
        ),
        pytest.param(
            AttributionFacts("Jane Cooper", Channel.STRIPE), "Jane Cooper · Stripe metadata", id="Stripe metadata",
        ),
        pytest.param(AttributionFacts("Jane Cooper"), "Jane Cooper", id="an unknown channel names the partner only"),
        pytest.param(AttributionFacts(None), "Not attributed", id="no partner reads not attributed"),
    ],
)  # fmt: skip
def test_attribution_reads_partner_channel_and_time(facts: AttributionFacts, words: str) -> None:
    assert attribution_words(facts) == words


@pytest.mark.parametrize(
    ("email", "name", "masked", "label"),
    [
        pytest.param("jane@example.com", "Jane", False, "jane@example.com", id="the manager sees the email whole"),
        pytest.param("jane@example.com", "Jane", True, "j•••@example.com", id="a partner sees it masked"),
        pytest.param(None, "Jane", True, "Jane", id="without an email the name"),
        pytest.param(None, None, True, "cus_7", id="without either the external id"),
    ],
)  # fmt: skip
def test_a_customer_reads_as_email_else_name_else_external_id(
    email: str | None, name: str | None, masked: bool, label: str
) -> None:
    assert customer_label(email, name, "cus_7", masked=masked) == label


def test_masking_keeps_one_letter_and_the_domain() -> None:
    assert mask_email("a@b.test") == "a•••@b.test" and mask_email("nobody") == "n•••"
