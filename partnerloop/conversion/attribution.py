"""Attribution (pure): which partner a conversion is credited to, and a sentence saying why.

Last click: the click id the merchant passes is the visitor's latest (the cookie holds the last one).
A referral code credits its partner directly. A customer keeps the partner of their first
attributed conversion. Bot clicks, clicks outside the cookie window and partners who are not
approved never attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from partnerloop.kit.time import MAX_CLOCK_SKEW

APPROVED = "approved"


@dataclass(frozen=True)
class ClickTouch:
    click_id: str
    partner_id: str
    partner_status: str
    clicked_at: datetime
    is_bot: bool = False


@dataclass(frozen=True)
class CodeTouch:
    referral_code: str
    partner_id: str
    partner_status: str


@dataclass(frozen=True)
class CouponTouch:
    """A partner's coupon code carried by the sale (attributes without any click)."""

    coupon_code: str
    partner_id: str
    partner_status: str


Touch = ClickTouch | CodeTouch | CouponTouch


@dataclass(frozen=True)
class CurrentPartner:
    """The partner a customer is credited with already, and that partner's status now."""

    partner_id: str
    partner_status: str


@dataclass(frozen=True)
class Attribution:
    partner_id: str | None  # who the customer is credited to after this conversion
    click_id: str | None  # the click that attributed them now (None when kept or via a code)
    newly_attributed: bool  # True when this conversion attributed the customer
    explanation: str  # how the customer is attributed (kept on the customer)
    no_earnings_reason: str | None = None  # why no partner earns on this conversion, if none does


def within_window(clicked_at: datetime, converted_at: datetime, cookie_days: int) -> bool:
    """A click counts from its own moment (less MAX_CLOCK_SKEW: the conversion's time comes from
    another clock) up to exactly `cookie_days` days later, both ends included."""
    return clicked_at - MAX_CLOCK_SKEW <= converted_at <= clicked_at + timedelta(days=cookie_days)


def _age(clicked_at: datetime, converted_at: datetime) -> str:
    days = max(converted_at - clicked_at, timedelta(0)) / timedelta(days=1)  # within the skew: 0
    return f"{days:.1f} days" if days < 10 else f"{int(days)} days"


def _touch_refusal(touch: Touch, converted_at: datetime, cookie_days: int) -> str | None:
    """Why this touch cannot attribute, or None when it can."""
    if isinstance(touch, ClickTouch):
        if touch.is_bot:
            return f"click {touch.click_id} was made by a bot"
        if converted_at < touch.clicked_at - MAX_CLOCK_SKEW:
            return f"the conversion happened before click {touch.click_id}"
        if not within_window(touch.clicked_at, converted_at, cookie_days):
            age = _age(touch.clicked_at, converted_at)
            return f"click {touch.click_id} is {age} old, outside the {cookie_days}-day cookie window"
    if touch.partner_status != APPROVED:
        return f"partner {touch.partner_id} is {touch.partner_status}, not approved"
    return None


def attribute(
    *, current: CurrentPartner | None, touch: Touch | None, converted_at: datetime, cookie_days: int
) -> Attribution:
    """Decide the partner for one conversion of a customer (see the module's docstring)."""
    if current is not None:
        text = f"kept partner {current.partner_id} from the customer's first attributed conversion"
        reason = None
        if current.partner_status != APPROVED:
            reason = f"No commission: partner {current.partner_id} is {current.partner_status}, not approved."
        return Attribution(current.partner_id, None, False, text, reason)
    if touch is None:
        return Attribution(
            None,
            None,
            False,
            "not attributed: no click id or referral code, and no earlier partner",
            "No commission: the customer is not attributed to a partner (no click id or referral code).",
        )
    refusal = _touch_refusal(touch, converted_at, cookie_days)
    if refusal is not None:
        return Attribution(
            None,
            None,
            False,
            f"not attributed: {refusal}",
            f"No commission: the customer is not attributed, because {refusal}.",
        )
    if isinstance(touch, ClickTouch):
        age = _age(touch.clicked_at, converted_at)
        text = f"last click {touch.click_id} of partner {touch.partner_id}, {age} before, within {cookie_days} days"
        return Attribution(touch.partner_id, touch.click_id, True, text)
    if isinstance(touch, CouponTouch):
        return Attribution(
            touch.partner_id, None, True, f"coupon code {touch.coupon_code} of partner {touch.partner_id}"
        )
    return Attribution(
        touch.partner_id, None, True, f"referral code {touch.referral_code} of partner {touch.partner_id}"
    )
