"""Pure decisions of customer referrals: no session, no clock (times are passed in)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from partnerloop.jobs.rules import backoff
from partnerloop.kit.emails import email_key as email_key  # where they are defined now; kept importable here
from partnerloop.kit.emails import normalize_email as normalize_email
from partnerloop.kit.money import format_money, minor_digits
from partnerloop.program.referral_settings import (
    AmountOff,
    CashReward,
    CouponReward,
    CreditReward,
    FriendReward,
    PercentOff,
    ReferralRewards,
    ReferrerReward,
)

MAX_CLIENT_ERROR_ATTEMPTS = 3  # Stripe answered with a refusal: tried this often, then `failed`


class RewardStatus(StrEnum):
    PENDING = "pending"
    ISSUED = "issued"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def can_mark_issued(self) -> bool:
        return self in (RewardStatus.PENDING, RewardStatus.FAILED)

    @property
    def can_retry(self) -> bool:
        return self is RewardStatus.FAILED


class Side(StrEnum):
    REFERRER = "referrer"
    FRIEND = "friend"


STRIPE_TYPES = frozenset({"credit", "coupon", "percent_off", "amount_off"})


def needs_stripe(reward_type: str) -> bool:
    """Credits, coupons and friends' discounts are issued through Stripe; cash goes to the ledger."""
    return reward_type in STRIPE_TYPES


@dataclass(frozen=True)
class Person:
    """Who someone is, as far as self-referral checks go."""

    external_id: str
    email_key: str | None
    stripe_customer_ids: frozenset[str] = frozenset()


def self_referral_reason(advocate: Person, friend: Person) -> str | None:
    """Why the friend is the advocate themself, or None when they are someone else."""
    if advocate.external_id == friend.external_id:
        return "Self-referral: the friend has the advocate's own customer id."
    if advocate.email_key is not None and advocate.email_key == friend.email_key:
        return "Self-referral: the friend's email is the advocate's (after normalizing case, dots and +tags)."
    if advocate.stripe_customer_ids & friend.stripe_customer_ids:
        return "Self-referral: the friend is the advocate's own Stripe customer."
    return None


@dataclass(frozen=True)
class ConversionFacts:
    """A referred friend's lead or sale, and what the advocate has earned so far."""

    event_kind: str  # lead | sale
    occurred_at: datetime
    advocate: Person
    friend: Person
    referrer_rewards_so_far: int  # the advocate's referrer rewards that were not rejected
    currency: str


@dataclass(frozen=True)
class RewardDecision:
    side: Side
    type: str
    amount: int | None
    percent: int | None
    duration_months: int | None
    status: RewardStatus
    reason: str | None
    due_at: datetime


def _shape(reward: ReferrerReward | FriendReward) -> tuple[int | None, int | None, int | None]:
    if isinstance(reward, (CreditReward, CashReward)):
        return reward.amount, None, None
    if isinstance(reward, CouponReward):
        return reward.amount, reward.percent, reward.duration_months
    if isinstance(reward, PercentOff):
        return None, reward.percent, reward.duration_months
    if isinstance(reward, AmountOff):
        return reward.amount, None, reward.duration_months
    return None, None, None


def decide_rewards(settings: ReferralRewards, facts: ConversionFacts) -> list[RewardDecision]:
    """The rewards a friend's conversion makes: none unless it is the program's trigger; one per side
    whose type is not `none`. A self-referral rejects both sides; past the advocate's limit, the
    referrer's is rejected while the friend keeps theirs. The referrer's waits `hold_days`."""
    if facts.event_kind != settings.trigger:
        return []
    self_reason = self_referral_reason(facts.advocate, facts.friend)
    decisions: list[RewardDecision] = []
    if settings.referrer.type != "none":
        status, reason = RewardStatus.PENDING, None
        limit = settings.limit_per_advocate
        if self_reason is not None:
            status, reason = RewardStatus.REJECTED, self_reason
        elif limit is not None and facts.referrer_rewards_so_far >= limit:
            status, reason = RewardStatus.REJECTED, f"Limit reached: the advocate has {limit} rewards already."
        amount, percent, months = _shape(settings.referrer)
        due = facts.occurred_at + timedelta(days=settings.hold_days)
        decisions.append(
            RewardDecision(Side.REFERRER, settings.referrer.type, amount, percent, months, status, reason, due)
        )
    if settings.friend.type != "none":
        status = RewardStatus.REJECTED if self_reason is not None else RewardStatus.PENDING
        amount, percent, months = _shape(settings.friend)
        decisions.append(
            RewardDecision(
                Side.FRIEND, settings.friend.type, amount, percent, months, status, self_reason, facts.occurred_at
            )
        )
    return decisions


def rejects_on_refund(status: str, due_at: datetime, refunded_at: datetime) -> bool:
    """A refund of the triggering sale before the hold ended rejects a reward not yet issued."""
    return status == RewardStatus.PENDING and refunded_at < due_at


# ---------------------------------------------------------------- issuing


@dataclass(frozen=True)
class AfterFailure:
    status: RewardStatus  # pending (retry at `retry_at`) or failed
    retry_at: datetime | None


def after_stripe_failure(attempts: int, transient: bool, now: datetime) -> AfterFailure:
    """An outage (no answer, 5xx, 429) is retried with backoff for as long as it lasts: no reward is
    lost. A refusal (4xx) is retried a few times, then the reward is `failed` with Stripe's message."""
    if transient or attempts < MAX_CLIENT_ERROR_ATTEMPTS:
        return AfterFailure(RewardStatus.PENDING, now + backoff(attempts))
    return AfterFailure(RewardStatus.FAILED, None)


def is_transient(http_status: int | None) -> bool:
    """No answer, a server error or rate limiting: Stripe may well say yes later."""
    return http_status is None or http_status >= 500 or http_status == 429


def promotion_code(referral_code: str, reward_id: str) -> str:
    """A reward's promotion code, derived from the reward (so a retry asks for the same code)."""
    stem = "".join(char for char in referral_code.upper() if char.isalnum())[:16]
    return f"{stem}{reward_id[-6:].upper()}"


def idempotency_key(reward_id: str, step: str) -> str:
    """Stripe's Idempotency-Key for one step of issuing a reward: the same on every retry."""
    return f"partnerloop-reward-{reward_id}-{step}"


# ---------------------------------------------------------------- words


def short_money(amount: int, currency: str) -> str:
    """'20 USD' for whole amounts, else '10.50 USD': how an offer reads."""
    unit = 10 ** minor_digits(currency)
    if amount % unit == 0:
        return f"{amount // unit} {currency.upper()}"
    return format_money(amount, currency)


def _discount_words(amount: int | None, percent: int | None, months: int | None, currency: str) -> str:
    what = f"{percent}% off" if percent is not None else f"{short_money(amount or 0, currency)} off"
    if months is None:
        return what
    return f"{what} for {months} month" + ("s" if months != 1 else "")


def referrer_words(reward: ReferrerReward, currency: str) -> str:
    if isinstance(reward, CreditReward):
        return f"a {short_money(reward.amount, currency)} credit"
    if isinstance(reward, CashReward):
        return f"{short_money(reward.amount, currency)} in cash"
    if isinstance(reward, CouponReward):
        return _discount_words(reward.amount, reward.percent, reward.duration_months, currency)
    return "nothing"


def friend_words(reward: FriendReward, currency: str) -> str:
    amount, percent, months = _shape(reward)
    if reward.type == "none":
        return "nothing"
    return _discount_words(amount, percent, months, currency)


def offer_sentence(settings: ReferralRewards, currency: str) -> str:
    """The settings in one sentence: 'Your customer gets a 20 USD credit; their friend gets 20% off for 3 months'."""
    return (
        f"Your customer gets {referrer_words(settings.referrer, currency)}; "
        f"their friend gets {friend_words(settings.friend, currency)}"
    )


def friend_offer(settings: ReferralRewards | None, advocate_name: str, currency: str) -> str:
    """The share page's headline: 'Ada gave you 20% off'."""
    if settings is None or settings.friend.type == "none":
        return f"{advocate_name} invited you"
    return f"{advocate_name} gave you {friend_words(settings.friend, currency)}"


# ---------------------------------------------------------------- the widget


def widget_token(widget_secret: str, customer_external_id: str) -> str:
    """The hex HMAC-SHA256 of the customer's external id keyed by the program's widget secret."""
    return hmac.new(widget_secret.encode(), customer_external_id.encode(), hashlib.sha256).hexdigest()


def token_matches(widget_secret: str | None, customer_external_id: str, token: str) -> bool:
    if not widget_secret or not token:
        return False
    return hmac.compare_digest(widget_token(widget_secret, customer_external_id), token.strip().lower())
