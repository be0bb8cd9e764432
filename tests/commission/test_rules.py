"""Commission statuses, refunds and reversals as tables, plus the reversal invariant (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerloop.commission.rules import (
    CommissionStatus,
    RefundPlan,
    is_in_future,
    next_status,
    plan_refund,
    reversal_due,
    reversal_status,
    reverses_fully,
)

S = CommissionStatus

TRANSITIONS = [
    pytest.param(S.PENDING, "approve", S.APPROVED, id="a pending commission is approved"),
    pytest.param(S.ON_HOLD, "approve", S.APPROVED, id="a held commission is approved"),
    pytest.param(S.APPROVED, "approve", None, id="an approved commission cannot be approved again"),
    pytest.param(S.PAID, "approve", None, id="a paid commission cannot be approved"),
    pytest.param(S.PENDING, "hold", S.ON_HOLD, id="a pending commission is held"),
    pytest.param(S.APPROVED, "hold", S.ON_HOLD, id="an approved commission is held"),
    pytest.param(S.PAID, "hold", None, id="a paid commission cannot be held"),
    pytest.param(S.REJECTED, "hold", None, id="a rejected commission cannot be held"),
    pytest.param(S.PENDING, "reject", S.REJECTED, id="a pending commission is rejected"),
    pytest.param(S.ON_HOLD, "reject", S.REJECTED, id="a held commission is rejected"),
    pytest.param(S.APPROVED, "reject", None, id="an approved commission cannot be rejected"),
    pytest.param(S.PAID, "reject", None, id="a paid commission cannot be rejected"),
    pytest.param(S.REVERSED, "approve", None, id="a reversed commission cannot be approved"),
]


@pytest.mark.parametrize(("current", "action", "expected"), TRANSITIONS)
def test_transition(current: CommissionStatus, action: str, expected: CommissionStatus | None) -> None:
    assert next_status(current, action) == expected


REFUNDS = [
    pytest.param(None, 4900, 0, RefundPlan(4900, 4900), id="no amount refunds the whole sale"),
    pytest.param(1000, 4900, 0, RefundPlan(1000, 1000), id="a partial refund"),
    pytest.param(None, 4900, 1000, RefundPlan(3900, 4900), id="no amount after a partial refunds what is left"),
    pytest.param(3900, 4900, 1000, RefundPlan(3900, 4900), id="partials that add up to the whole sale"),
    pytest.param(
        4000,
        4900,
        1000,
        "A refund of 40.00 USD is more than what is left to refund: 39.00 USD of 49.00 USD.",
        id="a refund beyond what is left is refused",
    ),
    pytest.param(
        None,
        4900,
        4900,
        "The sale of 49.00 USD is fully refunded already: nothing is left.",
        id="a fully refunded sale has nothing left",
    ),
]


@pytest.mark.parametrize(("requested", "sale_amount", "refunded_before", "expected"), REFUNDS)
def test_refund_plan(requested: int | None, sale_amount: int, refunded_before: int, expected: RefundPlan | str) -> None:
    assert plan_refund(requested, sale_amount, refunded_before, "usd") == expected


# (earnings, sale amount, refunds in order) -> reversal (negative) per refund
REVERSALS = [
    pytest.param(980, 4900, [4900], [-980], id="a full refund reverses all earnings"),
    pytest.param(980, 4900, [2450], [-490], id="half the sale refunded reverses half the earnings"),
    pytest.param(5, 2, [1, 1], [-3, -2], id="a half-cent reversal rounds away from zero and the next one evens out"),
    pytest.param(
        980,
        4900,
        [1000, 1000, 2900],
        [-200, -200, -580],
        id="partial refunds that add up to the sale reverse exactly the earnings",
    ),
    pytest.param(1, 4900, [100, 4800], [0, -1], id="a refund too small to reverse a cent reverses it later"),
    pytest.param(333, 1000, [333, 333, 334], [-111, -111, -111], id="thirds reverse in equal parts"),
]


@pytest.mark.parametrize(("earnings", "sale_amount", "refunds", "expected"), REVERSALS)
def test_reversals(earnings: int, sale_amount: int, refunds: list[int], expected: list[int]) -> None:
    refunded = reversed_total = 0
    reversals = []
    for refund in refunds:
        refunded += refund
        due = reversal_due(earnings, sale_amount, refunded, reversed_total)
        reversed_total += due
        reversals.append(-due)
    assert reversals == expected


@given(
    earnings=st.integers(min_value=1, max_value=10**9),
    sale_amount=st.integers(min_value=1, max_value=10**9),
    cuts=st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), max_size=8),
    complete=st.booleans(),
)
def test_partial_refunds_never_reverse_more_than_the_earnings(
    earnings: int, sale_amount: int, cuts: list[float], complete: bool
) -> None:
    # Refund amounts: the sale split at random points (floats only pick the test's cut points).
    points = sorted({int(sale_amount * cut) for cut in cuts} | ({sale_amount} if complete else set()))
    refunded = reversed_total = 0
    for point in points:
        if point <= refunded:
            continue
        refunded = point
        due = reversal_due(earnings, sale_amount, refunded, reversed_total)
        assert due >= 0
        reversed_total += due
        assert reversed_total <= earnings
    if complete:
        assert reversed_total == earnings


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        pytest.param(S.PENDING, S.PENDING, id="a reversal of pending earnings is pending"),
        pytest.param(S.ON_HOLD, S.ON_HOLD, id="a reversal of held earnings is held"),
        pytest.param(S.APPROVED, S.APPROVED, id="a reversal of approved earnings is approved"),
        pytest.param(S.PAID, S.APPROVED, id="a reversal of paid earnings is approved for the next payout to net"),
    ],
)
def test_reversal_status(original: CommissionStatus, expected: CommissionStatus) -> None:
    assert reversal_status(original) == expected


@pytest.mark.parametrize(
    ("reversed_total", "original", "expected"),
    [
        pytest.param(980, S.PENDING, True, id="fully reversed pending earnings are reversed"),
        pytest.param(980, S.APPROVED, True, id="fully reversed approved but unpaid earnings are reversed"),
        pytest.param(980, S.PAID, False, id="paid earnings are never edited"),
        pytest.param(490, S.PENDING, False, id="partly reversed earnings stay as they are"),
    ],
)
def test_full_reversal(reversed_total: int, original: CommissionStatus, expected: bool) -> None:
    assert reverses_fully(980, reversed_total, original) is expected


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        pytest.param(NOW - timedelta(days=30), False, id="a month ago is fine"),
        pytest.param(NOW + timedelta(minutes=5), False, id="five minutes ahead is clock skew"),
        pytest.param(NOW + timedelta(minutes=5, seconds=1), True, id="beyond five minutes ahead is the future"),
    ],
)
def test_event_time_in_the_future(occurred_at: datetime, expected: bool) -> None:
    assert is_in_future(occurred_at, NOW) is expected
