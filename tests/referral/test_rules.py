"""The pure referral decisions, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.referral.rules import (
    ConversionFacts,
    Person,
    RewardStatus,
    after_stripe_failure,
    decide_rewards,
    email_key,
    friend_offer,
    is_transient,
    normalize_email,
    offer_sentence,
    promotion_code,
    rejects_on_refund,
    self_referral_reason,
    token_matches,
    widget_token,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ADA = Person("cus_ada", email_key("ada@example.com"), frozenset({"cus_stripe_ada"}))


def _settings(**overrides: Any) -> ReferralRewards:
    values: dict[str, Any] = {
        "trigger": "sale",
        "referrer": {"type": "credit", "amount": 2000},
        "friend": {"type": "percent_off", "percent": 20, "duration_months": 3},
        "limit_per_advocate": 2,
    }
    values.update(overrides)
    return ReferralRewards.model_validate(values)


def _facts(kind: str = "sale", friend: Person | None = None, so_far: int = 0) -> ConversionFacts:
    return ConversionFacts(kind, NOW, ADA, friend or Person("cus_bob", email_key("bob@example.com")), so_far, "usd")


@pytest.mark.parametrize(
    ("email", "normalized"),
    [
        pytest.param("Ada@Example.com", "ada@example.com", id="case is ignored"),
        pytest.param("ada+refer@example.com", "ada@example.com", id="a +tag is dropped"),
        pytest.param("a.d.a@gmail.com", "ada@gmail.com", id="gmail ignores dots"),
        pytest.param("A.da+x@GoogleMail.com", "ada@gmail.com", id="googlemail is gmail"),
        pytest.param("a.da@example.com", "a.da@example.com", id="other domains keep their dots"),
    ],
)
def test_normalize_email(email: str, normalized: str) -> None:
    assert normalize_email(email) == normalized


@pytest.mark.parametrize(
    ("friend", "reason"),
    [
        pytest.param(Person("cus_ada", None), "customer id", id="the same customer id is a self-referral"),
        pytest.param(Person("cus_x", email_key("ADA+1@example.com")), "email", id="the same normalized email is"),
        pytest.param(Person("cus_x", None, frozenset({"cus_stripe_ada"})), "Stripe", id="the same Stripe customer is"),
        pytest.param(Person("cus_bob", email_key("bob@example.com")), None, id="someone else is not"),
    ],
)
def test_self_referral(friend: Person, reason: str | None) -> None:
    found = self_referral_reason(ADA, friend)
    assert (found is None) if reason is None else (found is not None and reason in found)


@pytest.mark.parametrize(
    ("settings", "facts", "expected"),
    [
        pytest.param(_settings(), _facts(), [("referrer", "credit", "pending"), ("friend", "percent_off", "pending")],
                     id="a friend's sale rewards both sides"),
        pytest.param(_settings(), _facts("lead"), [], id="a lead earns nothing when the trigger is sale"),
        pytest.param(_settings(trigger="lead"), _facts("lead"),
                     [("referrer", "credit", "pending"), ("friend", "percent_off", "pending")], id="a lead trigger"),
        pytest.param(_settings(), _facts(friend=Person("cus_ada", None)),
                     [("referrer", "credit", "rejected"), ("friend", "percent_off", "rejected")],
                     id="a self-referral rejects both sides"),
        pytest.param(_settings(), _facts(so_far=2), [("referrer", "credit", "rejected"), ("friend", "percent_off", "pending")],
                     id="past the limit the referrer's is rejected and the friend keeps theirs"),
        pytest.param(_settings(friend={"type": "none"}), _facts(), [("referrer", "credit", "pending")],
                     id="friend type none makes no friend reward"),
        pytest.param(_settings(referrer={"type": "none"}), _facts(), [("friend", "percent_off", "pending")],
                     id="referrer type none makes no referrer reward"),
        pytest.param(_settings(limit_per_advocate=None), _facts(so_far=1000),
                     [("referrer", "credit", "pending"), ("friend", "percent_off", "pending")], id="no limit"),
    ],
)  # fmt: skip
def test_decide_rewards(
    settings: ReferralRewards, facts: ConversionFacts, expected: list[tuple[str, str, str]]
) -> None:
    assert [(d.side.value, d.type, d.status.value) for d in decide_rewards(settings, facts)] == expected


def test_hold_days_delay_the_referrer_reward_only() -> None:
    decisions = decide_rewards(_settings(hold_days=14), _facts())
    assert [d.due_at for d in decisions] == [NOW + timedelta(days=14), NOW]


@pytest.mark.parametrize(
    ("status", "refunded_at", "rejects"),
    [
        pytest.param("pending", NOW + timedelta(days=1), True, id="a refund inside the hold rejects"),
        pytest.param("pending", NOW + timedelta(days=30), False, id="a refund after the hold does not"),
        pytest.param("issued", NOW + timedelta(days=1), False, id="an issued reward stays issued"),
    ],
)
def test_rejects_on_refund(status: str, refunded_at: datetime, rejects: bool) -> None:
    assert rejects_on_refund(status, NOW + timedelta(days=14), refunded_at) is rejects


@pytest.mark.parametrize(
    ("attempts", "transient", "status"),
    [
        pytest.param(1, False, RewardStatus.PENDING, id="a first refusal is retried"),
        pytest.param(3, False, RewardStatus.FAILED, id="the third refusal fails the reward"),
        pytest.param(50, True, RewardStatus.PENDING, id="an outage is retried for as long as it lasts"),
    ],
)
def test_after_stripe_failure(attempts: int, transient: bool, status: RewardStatus) -> None:
    outcome = after_stripe_failure(attempts, transient, NOW)
    assert outcome.status is status
    assert (outcome.retry_at is not None and outcome.retry_at > NOW) is (status is RewardStatus.PENDING)


@pytest.mark.parametrize(
    ("http_status", "transient"),
    [(None, True), (500, True), (503, True), (429, True), (400, False), (402, False), (404, False)],
)
def test_is_transient(http_status: int | None, transient: bool) -> None:
    assert is_transient(http_status) is transient


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        pytest.param({}, "Your customer gets a 20 USD credit; their friend gets 20% off for 3 months", id="credit and percent"),
        pytest.param({"referrer": {"type": "cash", "amount": 1050}, "friend": {"type": "amount_off", "amount": 500}},
                     "Your customer gets 10.50 USD in cash; their friend gets 5 USD off", id="cash and amount off"),
        pytest.param({"referrer": {"type": "coupon", "percent": 50, "duration_months": 1}, "friend": {"type": "none"}},
                     "Your customer gets 50% off for 1 month; their friend gets nothing", id="coupon, nothing"),
    ],
)  # fmt: skip
def test_offer_sentence(overrides: dict[str, Any], sentence: str) -> None:
    assert offer_sentence(_settings(**overrides), "usd") == sentence


def test_friend_offer_names_the_advocate() -> None:
    assert friend_offer(_settings(), "Ada", "usd") == "Ada gave you 20% off for 3 months"
    assert friend_offer(None, "Ada", "usd") == "Ada invited you"


def test_widget_token_is_the_hmac_of_the_customer_id() -> None:
    token = widget_token("s3cret", "cus_ada")
    assert len(token) == 64 and token_matches("s3cret", "cus_ada", token)
    assert not token_matches("s3cret", "cus_bob", token)
    assert not token_matches("other", "cus_ada", token)
    assert not token_matches(None, "cus_ada", token)


def test_promotion_code_is_derived_from_the_reward() -> None:
    assert promotion_code("ada-1234", "01JABCDEFGHJKMNPQRSTVWXYZ0") == promotion_code(
        "ada-1234", "01JABCDEFGHJKMNPQRSTVWXYZ0"
    )
    assert promotion_code("ada-1234", "01JABCDEFGHJKMNPQRSTVWXYZ0") == "ADA1234VWXYZ0"
