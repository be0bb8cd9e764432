"""Attribution as a table: cookie window edges, bots, unapproved partners, codes, kept partners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from partnerloop.conversion.attribution import ClickTouch, CodeTouch, CurrentPartner, Touch, attribute
from partnerloop.kit.time import MAX_CLOCK_SKEW

CLICKED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def click(partner_status: str = "approved", is_bot: bool = False) -> ClickTouch:
    return ClickTouch("click_1", "partner_a", partner_status, CLICKED, is_bot)


CASES = [
    pytest.param(None, click(), CLICKED, "partner_a", id="a conversion at the moment of the click attributes"),
    pytest.param(
        None,
        click(),
        CLICKED + timedelta(days=90),
        "partner_a",
        id="a conversion exactly 90 days after the click attributes",
    ),
    pytest.param(
        None,
        click(),
        CLICKED + timedelta(days=90, seconds=1),
        None,
        id="a conversion one second past 90 days does not attribute",
    ),
    pytest.param(
        None,
        click(),
        CLICKED - timedelta(seconds=1),
        "partner_a",
        id="a conversion stamped a second before the click attributes (Stripe's created has whole seconds)",
    ),
    pytest.param(
        None,
        click(),
        CLICKED - MAX_CLOCK_SKEW,
        "partner_a",
        id="a conversion stamped exactly the clock skew before the click attributes",
    ),
    pytest.param(
        None,
        click(),
        CLICKED - MAX_CLOCK_SKEW - timedelta(seconds=1),
        None,
        id="a conversion more than the clock skew before the click does not attribute",
    ),
    pytest.param(None, click(is_bot=True), CLICKED + timedelta(hours=1), None, id="a bot click never attributes"),
    pytest.param(
        None, click("pending"), CLICKED + timedelta(hours=1), None, id="a click of a pending partner does not attribute"
    ),
    pytest.param(
        None, click("banned"), CLICKED + timedelta(hours=1), None, id="a click of a banned partner does not attribute"
    ),
    pytest.param(
        None,
        CodeTouch("JANE10", "partner_b", "approved"),
        CLICKED,
        "partner_b",
        id="a referral code attributes to its partner without a window",
    ),
    pytest.param(
        None,
        CodeTouch("JANE10", "partner_b", "rejected"),
        CLICKED,
        None,
        id="a referral code of a rejected partner does not attribute",
    ),
    pytest.param(None, None, CLICKED, None, id="no click and no code does not attribute"),
    pytest.param(
        CurrentPartner("partner_first", "approved"),
        click(),
        CLICKED,
        "partner_first",
        id="a customer keeps the partner of their first attributed conversion",
    ),
    pytest.param(
        CurrentPartner("partner_first", "approved"),
        None,
        CLICKED + timedelta(days=900),
        "partner_first",
        id="a customer stays attributed long after the window",
    ),
]


@pytest.mark.parametrize(("current", "touch", "converted_at", "partner_id"), CASES)
def test_attribution(
    current: CurrentPartner | None, touch: Touch | None, converted_at: datetime, partner_id: str | None
) -> None:
    result = attribute(current=current, touch=touch, converted_at=converted_at, cookie_days=90)
    assert result.partner_id == partner_id
    assert (result.no_earnings_reason is None) == (partner_id is not None)


def test_a_click_outside_the_window_says_why() -> None:
    result = attribute(current=None, touch=click(), converted_at=CLICKED + timedelta(days=91), cookie_days=90)
    assert result.explanation == "not attributed: click click_1 is 91 days old, outside the 90-day cookie window"
    assert result.no_earnings_reason == (
        "No commission: the customer is not attributed, because click click_1 is 91 days old, "
        "outside the 90-day cookie window."
    )


def test_a_conversion_too_long_before_the_click_says_why() -> None:
    result = attribute(current=None, touch=click(), converted_at=CLICKED - timedelta(minutes=6), cookie_days=90)
    assert result.explanation == "not attributed: the conversion happened before click click_1"


def test_a_conversion_within_the_skew_before_the_click_reads_as_at_the_click() -> None:
    result = attribute(current=None, touch=click(), converted_at=CLICKED - timedelta(minutes=2), cookie_days=30)
    assert result.explanation == "last click click_1 of partner partner_a, 0.0 days before, within 30 days"


def test_a_click_within_the_window_names_the_click_and_partner() -> None:
    result = attribute(current=None, touch=click(), converted_at=CLICKED + timedelta(days=2), cookie_days=30)
    assert result.newly_attributed
    assert result.click_id == "click_1"
    assert result.explanation == "last click click_1 of partner partner_a, 2.0 days before, within 30 days"


def test_a_kept_partner_who_is_banned_since_earns_nothing() -> None:
    result = attribute(
        current=CurrentPartner("partner_first", "banned"), touch=click(), converted_at=CLICKED, cookie_days=90
    )
    assert result.partner_id == "partner_first"
    assert not result.newly_attributed
    assert result.no_earnings_reason == "No commission: partner partner_first is banned, not approved."


def test_the_window_follows_the_program_cookie_days() -> None:
    at = CLICKED + timedelta(days=7, seconds=1)
    assert attribute(current=None, touch=click(), converted_at=at, cookie_days=7).partner_id is None
    assert attribute(current=None, touch=click(), converted_at=at, cookie_days=8).partner_id == "partner_a"
