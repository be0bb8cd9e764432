"""Commission statuses, refunds and reversals as tables, plus the reversal invariant (Hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from partnerloop.commission.rules import (
    CommissionStatus,
    RefundPlan,
    earns_click_reward,
    is_in_future,
    next_status,
    plan_refund,
    price_partner_clicks,
    reversal_due,
    reversal_status,
    reverses_fully,
)
from partnerloop.plan.rules import Earnings, EventFacts, NoEarnings, PlanTerms
from partnerloop.plan.schemas import DEFAULT_CLICKS_PER_DAY, parse_stored_rules

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


# ---------------------------------------------------------------- click rewards

CLICK_DAY = datetime(2026, 11, 27, tzinfo=UTC)


def click_terms(caps: dict[str, object] | None = None, amount: int = 25) -> PlanTerms:
    rule: dict[str, object] = {"event": "click", "reward": {"type": "flat", "amount": amount}}
    if caps is not None:
        rule["caps"] = caps
    return PlanTerms("plan", "Clicks", tuple(parse_stored_rules([rule])))


CLICK_BATCHES = [
    pytest.param(None, [0, 0], {}, [25, 25], id="a click rule without caps pays each click"),
    pytest.param({"per_day_count": 2}, [0, 0, 0], {}, [25, 25, None],
                 id="the daily count cap stops paying after n clicks of the batch"),
    pytest.param({"per_day_count": 2}, [0, 0], {CLICK_DAY: (1, 25)}, [25, None],
                 id="the day's earlier click commissions count against the count cap"),
    pytest.param({"per_day_count": 1}, [0, 1], {}, [25, 25], id="each utc day has its own room"),
    pytest.param({"per_day_amount": 60}, [0, 0, 0, 0], {}, [25, 25, 10, None],
                 id="the daily amount cap pays what is left, then nothing"),
    pytest.param(None, [0, 0], {CLICK_DAY: (DEFAULT_CLICKS_PER_DAY - 1, 0)}, [25, None],
                 id="a click rule without a daily cap stops at the default count"),
    pytest.param({"per_day_amount": 10**9}, [0], {CLICK_DAY: (DEFAULT_CLICKS_PER_DAY, 0)}, [25],
                 id="a daily amount cap replaces the default count"),
    pytest.param({"per_period_amount": 40, "period": "month"}, [0, 0], {}, [25, 15],
                 id="a monthly cap counts the batch's earlier clicks"),
]  # fmt: skip


@pytest.mark.parametrize(("caps", "day_offsets", "day_before", "expected"), CLICK_BATCHES)
def test_a_partners_clicks_are_priced_under_the_daily_caps(
    caps: dict[str, object] | None,
    day_offsets: list[int],
    day_before: dict[datetime, tuple[int, int]],
    expected: list[int | None],
) -> None:
    plan = click_terms(caps)
    periods = {"month": 0} if caps and "period" in caps else {}
    partner = EventFacts("click", CLICK_DAY, period_earned=periods)
    clicks_at = [CLICK_DAY + timedelta(days=offset, hours=index) for index, offset in enumerate(day_offsets)]
    priced = price_partner_clicks(plan, partner, clicks_at, day_before, "usd")
    assert [result.earnings_amount if isinstance(result, Earnings) else None for result in priced] == expected


def test_the_default_daily_cap_names_itself_when_it_stops_a_click() -> None:
    partner = EventFacts("click", CLICK_DAY)
    [result] = price_partner_clicks(
        click_terms(), partner, [CLICK_DAY], {CLICK_DAY: (DEFAULT_CLICKS_PER_DAY, 0)}, "usd"
    )
    assert isinstance(result, NoEarnings)
    assert result.reason == (
        "Clicks caps earnings at 1000 clicks per day (the default for click rules) (1000 paid today before): "
        "the cap is reached, no commission."
    )


def one_by_one(
    plan: PlanTerms, partner: EventFacts, clicks_at: list[datetime], day_before: dict[datetime, tuple[int, int]]
) -> list[Earnings | NoEarnings]:
    """The batch priced click by click, each on its own call, with the tallies carried by hand."""
    tallies = dict(day_before)
    out: list[Earnings | NoEarnings] = []
    for at in clicks_at:
        day = at.replace(hour=0, minute=0, second=0, microsecond=0)
        [result] = price_partner_clicks(plan, partner, [at], tallies, "usd")
        if isinstance(result, Earnings):
            count, earned = tallies.get(day, (0, 0))
            tallies[day] = (count + 1, earned + result.earnings_amount)
        out.append(result)
    return out


@pytest.mark.parametrize(
    "caps",
    [
        pytest.param(None, id="default count cap"),
        pytest.param({"per_day_count": 3}, id="count cap"),
        pytest.param({"per_day_amount": 60}, id="amount cap"),
    ],
)
def test_a_click_flood_past_the_cap_gets_the_answers_each_click_would_get_alone(caps: dict[str, object] | None) -> None:
    plan = click_terms(caps)
    partner = EventFacts("click", CLICK_DAY)
    day_before = {CLICK_DAY: (DEFAULT_CLICKS_PER_DAY - 2, 0)} if caps is None else {}
    clicks_at = [CLICK_DAY + timedelta(hours=23, seconds=index) for index in range(8)]
    clicks_at += [CLICK_DAY + timedelta(days=1, seconds=index) for index in range(3)]  # the next day has room
    priced = price_partner_clicks(plan, partner, clicks_at, day_before, "usd")
    assert priced == one_by_one(plan, partner, clicks_at, day_before)
    assert isinstance(priced[-1], Earnings) and isinstance(priced[7], NoEarnings)


def test_a_campaign_that_starts_during_the_batch_pays_clicks_past_the_everyday_cap() -> None:
    starts = CLICK_DAY + timedelta(hours=12)
    rules: list[dict[str, object]] = [
        {"event": "click", "reward": {"type": "flat", "amount": 50}, "caps": {"per_day_count": 10},
         "active": {"from": starts.isoformat()}},
        {"event": "click", "reward": {"type": "flat", "amount": 25}, "caps": {"per_day_count": 1}},
    ]  # fmt: skip
    plan = PlanTerms("plan", "Clicks", tuple(parse_stored_rules(rules)))
    partner = EventFacts("click", CLICK_DAY)
    clicks_at = [CLICK_DAY + timedelta(hours=hour) for hour in (1, 2, 3, 13, 14)]
    priced = price_partner_clicks(plan, partner, clicks_at, {}, "usd")
    assert [result.earnings_amount if isinstance(result, Earnings) else None for result in priced] == [
        25, None, None, 50, 50,
    ]  # fmt: skip
    assert priced == one_by_one(plan, partner, clicks_at, {})


@pytest.mark.parametrize(
    ("is_bot", "is_unique", "earns"),
    [
        pytest.param(False, True, True, id="a unique human click earns"),
        pytest.param(True, False, False, id="a bot click never earns"),
        pytest.param(False, False, False, id="a repeat click never earns"),
    ],
)
def test_which_clicks_earn_a_click_reward(is_bot: bool, is_unique: bool, earns: bool) -> None:
    assert earns_click_reward(is_bot, is_unique) is earns
