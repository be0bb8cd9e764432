"""The engine pricing one partner's share of a multi-touch sale: the whole sale priced under the
partner's plan, the share taken of that, the caps cutting the share (tables)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from partnerloop.conversion.multitouch import Touchpoint, credit_of
from partnerloop.plan.rules import CreditShare, Earnings, EventFacts, NoEarnings, PlanTerms, compute_earnings
from partnerloop.plan.schemas import Rule

NOW = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
TOUCHES = (Touchpoint("a", NOW - timedelta(hours=2), "c1"), Touchpoint("b", NOW - timedelta(hours=1), "c2"))


def half(partner_id: str) -> CreditShare:
    """The partner's linear share of a sale both "a" (first) and "b" touched."""
    return CreditShare("50% share (linear)", partial(credit_of, "linear", TOUCHES, partner_id, now=NOW))


def terms(reward: dict[str, Any], **extra: Any) -> PlanTerms:
    rule = Rule.model_validate({"event": "sale", "reward": reward, "duration": {"kind": "lifetime"}, **extra})
    return PlanTerms(id="plan_1", name="Gold", rules=(rule,))


def sale(amount: int, customer_earned: int = 0) -> EventFacts:
    return EventFacts("sale", NOW, amount, "usd", first_sale_at=NOW, customer_earned=customer_earned)


PCT_40 = {"type": "percent", "rate_bps": 4000}
PCT_20 = {"type": "percent", "rate_bps": 2000}  # 4905 earns 981: its halves are 491 and 490
CAP_15 = {"per_customer_amount": 1500}
BIG_SALES_ONLY = [{"field": "sale.amount", "op": "gte", "value": 8000}]

SHARES = [
    pytest.param(terms(PCT_40), sale(10_000), half("a"), 2000,
                 "50% share (linear) of 40% of 100.00 USD under Gold, month 1, lifetime", id="a half share of 40 percent of a sale"),
    pytest.param(terms(PCT_20), sale(4905), half("a"), 491,
                 "50% share (linear) of 20% of 49.05 USD under Gold, month 1, lifetime", id="the first toucher takes the odd cent"),
    pytest.param(terms(PCT_20), sale(4905), half("b"), 490,
                 "50% share (linear) of 20% of 49.05 USD under Gold, month 1, lifetime", id="the other toucher the rest of it"),
    pytest.param(terms({"type": "flat", "amount": 500}), sale(10_000), half("b"), 250,
                 "50% share (linear) of 5.00 USD per sale under Gold, month 1, lifetime", id="a flat reward is shared not paid to each"),
    pytest.param(terms(PCT_40, caps=CAP_15), sale(10_000), half("a"), 1500,
                 "50% share (linear) of 40% of 100.00 USD under Gold, month 1, lifetime; capped at 15.00 USD per customer "
                 "(0.00 USD earned from this customer before): 15.00 USD", id="a cap cuts the share"),
    pytest.param(terms(PCT_40, caps={"per_customer_amount": 3000}), sale(10_000), half("a"), 2000,
                 "50% share (linear) of 40% of 100.00 USD under Gold, month 1, lifetime", id="a share within the cap is not cut"),
    pytest.param(terms(PCT_40, conditions=BIG_SALES_ONLY), sale(10_000), half("a"), 2000,
                 "50% share (linear) of 40% of 100.00 USD under Gold, rule 1 (sale.amount ≥ 80.00 USD: 10000), month 1, lifetime",
                 id="conditions see the whole sale not the share"),
]  # fmt: skip


@pytest.mark.parametrize(("plan", "facts", "share", "amount", "explanation"), SHARES)
def test_a_share_is_priced(
    plan: PlanTerms, facts: EventFacts, share: CreditShare, amount: int, explanation: str
) -> None:
    earned = compute_earnings(plan, facts, "usd", share)
    assert isinstance(earned, Earnings), earned
    assert (earned.earnings_amount, earned.explanation) == (amount, explanation)
    assert earned.explanation_data["earnings_amount"] == amount
    assert earned.explanation_data["share"]["label"] == share.label


NO_SHARE = [
    pytest.param(terms(PCT_40), sale(3), half("b"),
                 "50% share (linear) of 40% of 0.03 USD under Gold rounds to 0.00 USD: no commission.",
                 id="a share that rounds to nothing earns nothing"),
    pytest.param(terms(PCT_40, caps=CAP_15), sale(10_000, customer_earned=1500), half("a"),
                 "Gold caps earnings at 15.00 USD per customer (15.00 USD earned from this customer before): "
                 "the cap is reached, no commission.", id="a reached cap leaves the share nothing"),
]  # fmt: skip


@pytest.mark.parametrize(("plan", "facts", "share", "reason"), NO_SHARE)
def test_a_share_that_earns_nothing_says_why(
    plan: PlanTerms, facts: EventFacts, share: CreditShare, reason: str
) -> None:
    assert compute_earnings(plan, facts, "usd", share) == NoEarnings(reason)


def test_without_a_share_the_whole_sale_is_priced() -> None:
    earned = compute_earnings(terms(PCT_40), sale(10_000), "usd")
    assert isinstance(earned, Earnings)
    assert (earned.earnings_amount, "share" in earned.explanation_data) == (4000, False)
