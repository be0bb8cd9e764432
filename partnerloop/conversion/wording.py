"""How pages word a customer and how they were attributed (pure): "Jane Cooper · link /go/jane · 2 h before
sign-up", and the customer as their email (masked for partners), name or external id.

The stored `Customer.attribution` and `Commission.explanation` keep their own wording (the API returns them);
these words are built from structured facts for people reading a page, and never show raw ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SEPARATOR = " · "
NOT_ATTRIBUTED = "Not attributed"


class Channel(StrEnum):
    LINK = "link"  # a click on one of the partner's links (the value is the link's key)
    COUPON = "coupon"  # a partner's coupon code carried by the sale
    CODE = "code"  # the partner's referral code given with the lead
    STRIPE = "stripe"  # Stripe metadata naming a tracked customer


@dataclass(frozen=True)
class AttributionFacts:
    """What a page knows of one attribution; `partner_name` None means nobody is credited."""

    partner_name: str | None
    channel: Channel | None = None
    value: str | None = None  # the link key, coupon code or referral code
    clicked_at: datetime | None = None
    converted_at: datetime | None = None
    converted_as: str = "sign-up"  # what the click came before: "sign-up" (a lead) or "sale"


def span_words(span: timedelta) -> str:
    """A time span as people say it, rounded down to its largest unit: '40 s', '5 min', '2 h', '3 days'."""
    seconds = max(int(span.total_seconds()), 0)  # within the clock skew a click may look a little later
    if seconds < 1:
        return "under 1 s"  # a signup posted with the click (the snippet's or a test's), never "0 s"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return "1 day" if days == 1 else f"{days} days"


def _channel_words(channel: Channel, value: str | None) -> str:
    if channel is Channel.LINK:
        return f"link /go/{value}" if value else "link"
    if channel is Channel.COUPON:
        return f"coupon {value}" if value else "coupon"
    if channel is Channel.CODE:
        return f"referral code {value}" if value else "referral code"
    return "Stripe metadata"


def attribution_words(facts: AttributionFacts) -> str:
    """'Jane Cooper · link /go/jane · 2 h before sign-up', 'Jane Cooper · coupon SPRING20',
    'Jane Cooper · referral code JANE', or 'Not attributed'."""
    if facts.partner_name is None:
        return NOT_ATTRIBUTED
    parts = [facts.partner_name]
    if facts.channel is not None:
        parts.append(_channel_words(facts.channel, facts.value))
    if facts.channel is Channel.LINK and facts.clicked_at is not None and facts.converted_at is not None:
        parts.append(f"{span_words(facts.converted_at - facts.clicked_at)} before {facts.converted_as}")
    return SEPARATOR.join(parts)


def mask_email(email: str) -> str:
    """'jane@example.com' -> 'j•••@example.com': enough for a partner to recognise a customer, not to write
    to them."""
    local, at, domain = email.partition("@")
    if not at:
        return (local[:1] + "•••") if local else "•••"
    return f"{local[:1]}•••@{domain}"


def customer_label(email: str | None, name: str | None, external_id: str, *, masked: bool) -> str:
    """How a customer row names the customer: the email when known (masked for a partner), else the name,
    else the merchant's external id."""
    if email:
        return mask_email(email) if masked else email
    return name or external_id
