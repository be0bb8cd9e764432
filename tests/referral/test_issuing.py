"""Issuing rewards through Stripe's API on loopback (recording every call): credits as balance
transactions, coupons and friends' discounts as coupon + promotion code, each with an idempotency key
derived from the reward; refusals retried then `failed`, outages waited out; cash into the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import Job, Program
from partnerloop.referral import service
from partnerloop.referral.tasks import issue_due_rewards
from partnerloop.webhook.outbox import FANOUT_JOB
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.stripe_kit import FakeStripe
from tests.notify.smtp import SmtpRecorder
from tests.referral.conftest import friend_sale, make_advocate, rewards, set_rewards, wait_until


@pytest.fixture
def stripe_settings(database_url: str, fake_stripe: FakeStripe) -> Iterator[Settings]:
    yield make_settings(database_url, stripe_api_base=fake_stripe.url)


def _issued(client: TestClient, program: ProgramKeys, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = wait_until(
        lambda: (lambda rows: rows if len(rows) == count else None)(rewards(client, program, status="issued"))
    )
    return found


def _issue(engine: Engine, settings: Settings, reward_id: str, after: timedelta) -> str | None:
    with transaction(engine) as session:
        return service.issue_reward(session, settings, reward_id, utc_now() + after)


def test_credit_and_friend_discount_are_issued_with_idempotency_keys(
    stripe_client: TestClient, program: ProgramKeys, fake_stripe: FakeStripe, smtp: SmtpRecorder
) -> None:
    set_rewards(stripe_client, program, stripe=True)
    advocate = make_advocate(stripe_client, program, stripe_customer_id="cus_S1ada")
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    issued = {r["side"]: r for r in _issued(stripe_client, program, 2)}
    referrer, friend = issued["referrer"], issued["friend"]
    (credit,) = fake_stripe.posts("/v1/customers/")
    assert credit.path == "/v1/customers/cus_S1ada/balance_transactions"
    assert (credit.form["amount"], credit.form["currency"]) == ("-2000", "usd")
    assert credit.headers["Idempotency-Key"] == f"partnerloop-reward-{referrer['id']}-credit"
    assert referrer["external_ref"].startswith("cbtxn_")
    (coupon,) = fake_stripe.posts("/v1/coupons")
    assert (coupon.form["percent_off"], coupon.form["duration"], coupon.form["duration_in_months"]) == (
        "20",
        "repeating",
        "3",
    )
    assert coupon.headers["Idempotency-Key"] == f"partnerloop-reward-{friend['id']}-percent_off-coupon"
    (promotion,) = fake_stripe.posts("/v1/promotion_codes")
    assert promotion.form["restrictions[first_time_transaction]"] == "true"
    assert promotion.form["code"] == friend["code"] and promotion.form["promotion[type]"] == "coupon"
    assert promotion.headers["Idempotency-Key"] == f"partnerloop-reward-{friend['id']}-percent_off-promotion-code"
    assert friend["external_ref"].startswith("promo_")
    mail = smtp.wait_for(to="cus_ada@example.com", subject="referral reward")
    assert "a $20.00 credit on your account" in mail.text  # Babel money
    # The friend gave their email with their sign-up: they get their code too.
    to_friend = smtp.wait_for(to="cus_bob@friends.test", subject="gave you 20% off for 3 months")
    assert f"Your code: {friend['code']}" in to_friend.text and "Ada referred you" in to_friend.text


def test_referrer_coupon_is_restricted_to_the_advocate(
    stripe_client: TestClient, program: ProgramKeys, fake_stripe: FakeStripe
) -> None:
    set_rewards(
        stripe_client, program, stripe=True, referrer={"type": "coupon", "amount": 1500}, friend={"type": "none"}
    )
    advocate = make_advocate(stripe_client, program, stripe_customer_id="cus_S1ada")
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    (reward,) = _issued(stripe_client, program, 1)
    (coupon,) = fake_stripe.posts("/v1/coupons")
    assert (coupon.form["amount_off"], coupon.form["currency"], coupon.form["duration"]) == ("1500", "usd", "once")
    (promotion,) = fake_stripe.posts("/v1/promotion_codes")
    assert promotion.form["customer"] == "cus_S1ada" and "restrictions[first_time_transaction]" not in promotion.form
    assert reward["code"] == promotion.form["code"]


def test_cash_reward_goes_into_the_advocate_balance(stripe_client: TestClient, program: ProgramKeys) -> None:
    set_rewards(stripe_client, program, referrer={"type": "cash", "amount": 2500}, friend={"type": "none"})
    advocate = make_advocate(stripe_client, program)
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    (reward,) = _issued(stripe_client, program, 1)
    balance = stripe_client.get(f"/api/v1/partners/{advocate['partner_id']}/balance", headers=program.headers)
    assert balance.status_code == 200, balance.text
    (usd,) = balance.json()["data"] if "data" in balance.json() else balance.json()
    assert (usd["currency"], usd["approved_amount"]) == ("usd", 2500)
    commission = stripe_client.get(f"/api/v1/commissions/{reward['external_ref']}", headers=program.headers).json()
    assert (commission["status"], commission["earnings_amount"]) == ("approved", 2500)


def test_a_refusal_is_retried_then_failed_with_stripes_message_then_retried_by_hand(
    stripe_client: TestClient, engine: Engine, program: ProgramKeys, fake_stripe: FakeStripe, stripe_settings: Settings
) -> None:
    fake_stripe.fail_with = (
        400, {"error": {"type": "invalid_request_error", "message": "No such customer: 'cus_S1ada'"}}
    )  # fmt: skip
    set_rewards(stripe_client, program, stripe=True, friend={"type": "none"})
    advocate = make_advocate(stripe_client, program, stripe_customer_id="cus_S1ada")
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    (reward,) = wait_until(lambda: [r for r in rewards(stripe_client, program) if r["attempts"] == 1])
    assert reward["status"] == "pending" and "No such customer" in reward["last_error"]
    assert _issue(engine, stripe_settings, reward["id"], timedelta(hours=1)) == "pending"
    assert _issue(engine, stripe_settings, reward["id"], timedelta(hours=2)) == "failed"
    (failed,) = rewards(stripe_client, program, status="failed")
    assert "No such customer" in failed["reason"] and failed["attempts"] == 3
    assert {call.headers["Idempotency-Key"] for call in fake_stripe.posts("/v1/customers/")} == {
        f"partnerloop-reward-{reward['id']}-credit"
    }
    fake_stripe.fail_with = None
    retried = stripe_client.post(f"/api/v1/rewards/{reward['id']}/retry", headers=program.headers)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    _issued(stripe_client, program, 1)
    again = stripe_client.post(f"/api/v1/rewards/{reward['id']}/retry", headers=program.headers)
    assert again.status_code == 409


def test_an_outage_loses_no_reward_and_issues_it_once(
    stripe_client: TestClient, engine: Engine, program: ProgramKeys, fake_stripe: FakeStripe, stripe_settings: Settings
) -> None:
    fake_stripe.fail_with = (503, {"error": {"type": "api_error", "message": "Service unavailable"}})
    set_rewards(stripe_client, program, stripe=True, friend={"type": "none"})
    advocate = make_advocate(stripe_client, program, stripe_customer_id="cus_S1ada")
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    (reward,) = wait_until(lambda: [r for r in rewards(stripe_client, program) if r["attempts"] >= 1])
    for hours in range(1, 6):  # hours of outage: still pending, never failed
        assert _issue(engine, stripe_settings, reward["id"], timedelta(hours=hours)) == "pending"
    fake_stripe.fail_with = None
    assert _issue(engine, stripe_settings, reward["id"], timedelta(hours=7)) == "issued"
    assert _issue(engine, stripe_settings, reward["id"], timedelta(hours=8)) is None  # a late duplicate job: nothing
    keys = [call.headers["Idempotency-Key"] for call in fake_stripe.posts("/v1/customers/")]
    assert set(keys) == {f"partnerloop-reward-{reward['id']}-credit"}
    assert len(fake_stripe.replays) == 1  # Stripe made one balance transaction


def test_credit_without_a_stripe_customer_fails_with_the_reason(
    stripe_client: TestClient, program: ProgramKeys
) -> None:
    set_rewards(stripe_client, program, stripe=True, friend={"type": "none"})
    advocate = make_advocate(stripe_client, program)
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    (reward,) = wait_until(lambda: rewards(stripe_client, program, status="failed"))
    assert "stripe_customer_id" in reward["reason"]


def test_rewards_wait_without_a_key_and_the_periodic_job_issues_them_once_a_key_is_set(
    stripe_client: TestClient, engine: Engine, program: ProgramKeys, fake_stripe: FakeStripe
) -> None:
    set_rewards(stripe_client, program, friend={"type": "none"})
    advocate = make_advocate(stripe_client, program, stripe_customer_id="cus_S1ada")
    friend_sale(stripe_client, program, advocate, "cus_bob", "in_1")
    assert [r["status"] for r in rewards(stripe_client, program)] == ["pending"] and fake_stripe.calls == []
    patched = stripe_client.patch("/api/v1/program", json={"stripe_secret_key": "sk_test_x"}, headers=program.headers)
    assert patched.status_code == 200
    with transaction(engine) as session:
        issue_due_rewards(session, {})
    _issued(stripe_client, program, 1)
    assert len(fake_stripe.posts("/v1/customers/")) == 1
    with transaction(engine, writes=False) as session:
        assert session.get(Program, program.id) is not None


def test_a_returning_friend_continues_with_their_promotion_code_prefilled(
    stripe_client: TestClient, program: ProgramKeys, fake_stripe: FakeStripe
) -> None:
    set_rewards(stripe_client, program, stripe=True, trigger="lead", referrer={"type": "none"})
    advocate = make_advocate(stripe_client, program)
    share_path = advocate["share_url"].replace("http://testserver", "")
    first = stripe_client.get(share_path)
    href = first.text.split('id="continue" href="', 1)[1].split('"', 1)[0]
    assert "prefilled_promo_code" not in href
    click_id = stripe_client.get(href, follow_redirects=False).headers["location"].split("pl_cid=", 1)[1]
    link_id = advocate["link_id"]
    wait_until(lambda: stripe_client.get(f"/api/v1/links/{link_id}", headers=program.headers).json()["clicks"] == 1)
    lead = stripe_client.post(
        "/api/v1/track/lead", json={"click_id": click_id, "customer_external_id": "cus_bob"}, headers=program.headers
    )
    assert lead.status_code in (200, 201), lead.text
    (reward,) = _issued(stripe_client, program, 1)
    assert reward["side"] == "friend" and reward["code"]
    again = stripe_client.get(share_path)  # the friend comes back: the redirect's pl_cid cookie names them
    href = again.text.split('id="continue" href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    location = stripe_client.get(href, follow_redirects=False).headers["location"]
    assert location.startswith(f"https://acme.test/?prefilled_promo_code={reward['code']}&pl_cid=")


def test_one_job_issues_a_batch_and_each_advocate_gets_their_own_email_and_event(
    stripe_client: TestClient, engine: Engine, program: ProgramKeys, fake_stripe: FakeStripe, smtp: SmtpRecorder
) -> None:
    set_rewards(stripe_client, program, friend={"type": "none"})  # no key yet: the rewards wait, unbatched
    names = ["ada", "bea", "cyd"]
    for number, name in enumerate(names):
        advocate = make_advocate(stripe_client, program, f"cus_{name}", stripe_customer_id=f"cus_S{name}")
        friend_sale(stripe_client, program, advocate, f"cus_friend_{name}", f"in_{number}")
    lonely = make_advocate(stripe_client, program, "cus_dee")  # no Stripe customer: fails, with no email
    friend_sale(stripe_client, program, lonely, "cus_friend_dee", "in_9")
    patched = stripe_client.patch("/api/v1/program", json={"stripe_secret_key": "sk_test_x"}, headers=program.headers)
    assert patched.status_code == 200
    with transaction(engine) as session:  # one job: the four due rewards in one batch
        issue_due_rewards(session, {})
    issued = _issued(stripe_client, program, 3)
    assert [r["status"] for r in rewards(stripe_client, program, status="failed")] == ["failed"]
    credited = {call.path.split("/")[3]: call for call in fake_stripe.posts("/v1/customers/")}
    assert set(credited) == {f"cus_S{name}" for name in names}
    by_advocate = {r["advocate_id"]: r for r in issued}
    for name in names:
        mail = smtp.wait_for(to=f"cus_{name}@example.com", subject="referral reward")
        assert "a $20.00 credit on your account" in mail.text
    assert all(r["external_ref"].startswith("cbtxn_") for r in by_advocate.values()) and len(by_advocate) == 3
    assert smtp.to("cus_dee@example.com") == []
    with transaction(engine, writes=False) as session:
        events = session.execute(
            select(Job.payload).where(Job.kind == FANOUT_JOB, Job.program_id == program.id)
        ).scalars()
        issued_events = [event for event in events if event.get("type") == "reward.issued"]
    assert sorted(event["data"]["id"] for event in issued_events) == sorted(by_advocate[a]["id"] for a in by_advocate)
