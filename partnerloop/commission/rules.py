"""Commission statuses, their transitions, and how refunds reverse earnings (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from partnerloop.kit.money import format_money, prorate
from partnerloop.kit.time import MAX_CLOCK_SKEW, as_utc
from partnerloop.models.conversion import CommissionKind as CommissionKind  # re-exported: the status lives by its table
from partnerloop.models.conversion import CommissionStatus as CommissionStatus
from partnerloop.partner.rules import BanCommissions
from partnerloop.plan.rules import CreditShare, Earnings, EventFacts, NoEarnings, PlanTerms, compute_earnings


@dataclass(frozen=True)
class Share:
    """One touching partner's share of a split sale: their last click, and how their plan's
    commission for the whole sale is cut to their part (`credit`, for the engine)."""

    partner_id: str
    click_id: str | None
    credit: CreditShare


def is_in_future(occurred_at: datetime, now: datetime) -> bool:
    return occurred_at > now + MAX_CLOCK_SKEW


def is_payable_at(status: CommissionStatus, hold_until: datetime, cutoff: datetime) -> bool:
    """The one rule of what a payout run at `cutoff` pays: an approved commission whose hold ended by
    then. A manager's approval ends the hold (`approval_hold_until`), so an approved commission is
    payable by a run at or after its approval; the repository's SQL (`payable_at`) says the same."""
    return status.is_payable and hold_until <= cutoff


def approval_hold_until(hold_until: datetime, approved_at: datetime) -> datetime:
    """A manager's explicit approval ends the hold at the approval: the earnings are payable from then."""
    return min(hold_until, approved_at)


# action -> (target, statuses it may start from)
TRANSITIONS: dict[str, tuple[CommissionStatus, frozenset[CommissionStatus]]] = {
    "approve": (CommissionStatus.APPROVED, frozenset({CommissionStatus.PENDING, CommissionStatus.ON_HOLD})),
    "hold": (CommissionStatus.ON_HOLD, frozenset({CommissionStatus.PENDING, CommissionStatus.APPROVED})),
    "reject": (CommissionStatus.REJECTED, frozenset({CommissionStatus.PENDING, CommissionStatus.ON_HOLD})),
}


def next_status(current: CommissionStatus, action: str) -> CommissionStatus | None:
    """The status after `action`, or None when the action does not apply from `current`."""
    target, sources = TRANSITIONS[action]
    return target if current in sources else None


@dataclass(frozen=True)
class RefundPlan:
    amount: int  # refunded now
    refunded_total: int  # refunded on the sale, this refund included


def plan_refund(requested: int | None, sale_amount: int, refunded_before: int, currency: str) -> RefundPlan | str:
    """The refund to record (None asks for what is left), or a sentence saying why it is refused."""
    remaining = sale_amount - refunded_before
    if remaining <= 0:
        return f"The sale of {format_money(sale_amount, currency)} is fully refunded already: nothing is left."
    amount = remaining if requested is None else requested
    if amount > remaining:
        return (
            f"A refund of {format_money(amount, currency)} is more than what is left to refund: "
            f"{format_money(remaining, currency)} of {format_money(sale_amount, currency)}."
        )
    return RefundPlan(amount=amount, refunded_total=refunded_before + amount)


def reversal_due(earnings: int, sale_amount: int, refunded_total: int, reversed_before: int) -> int:
    """How much of `earnings` to reverse now, as a positive amount.

    The cumulative target is earnings × refunded ÷ sale, rounded once; reversing the difference to
    what was reversed before makes partial refunds that add up to the sale reverse exactly the earnings.
    """
    return prorate(earnings, refunded_total, sale_amount) - reversed_before


def reversal_status(original: CommissionStatus) -> CommissionStatus:
    """A reversal of approved or paid earnings is approved (netted by the next payout); else it
    follows its original."""
    if original in (CommissionStatus.APPROVED, CommissionStatus.PAID):
        return CommissionStatus.APPROVED
    return original


def reverses_fully(earnings: int, reversed_total: int, original: CommissionStatus) -> bool:
    """An unpaid original whose earnings are all reversed becomes `reversed`, with its reversals."""
    return reversed_total == earnings and not original.is_paid


def reversal_explanation(
    refund_amount: int,
    sale_amount: int,
    sale_currency: str,
    invoice_id: str,
    reversed_now: int,
    earnings: int,
    earnings_currency: str,
) -> str:
    return (
        f"Refund of {format_money(refund_amount, sale_currency)} of {format_money(sale_amount, sale_currency)} "
        f"(invoice {invoice_id}) reverses {format_money(reversed_now, earnings_currency)} "
        f"of {format_money(earnings, earnings_currency)}"
    )


def clawback_plan(requested: int | None, earnings: int, taken_back: int, currency: str) -> int | str:
    """How much a clawback takes (None asks for all that is left), or a sentence saying why not."""
    remaining = earnings - taken_back
    if remaining <= 0:
        return f"Nothing is left to claw back: {format_money(taken_back, currency)} of {format_money(earnings, currency)} was taken back already."
    amount = remaining if requested is None else requested
    if amount > remaining:
        return (
            f"A clawback of {format_money(amount, currency)} is more than what is left: "
            f"{format_money(remaining, currency)} of {format_money(earnings, currency)}."
        )
    return amount


# ---------------------------------------------------------------- click rewards


def earns_click_reward(is_bot: bool, is_unique: bool) -> bool:
    """Only a unique human click earns a click reward: a bot's never, a visitor's repeat click never."""
    return is_unique and not is_bot


def utc_day(moment: datetime) -> datetime:
    """The start (UTC) of the day holding `moment`: click caps count per partner and UTC day."""
    moment = as_utc(moment)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def price_partner_clicks(
    plan: PlanTerms,
    partner: EventFacts,
    clicks_at: Sequence[datetime],
    day_before: Mapping[datetime, tuple[int, int]],
    program_currency: str,
) -> list[Earnings | NoEarnings]:
    """Price one partner's clicks of a batch, in the order given (oldest first), each under its rule's daily
    caps as the partner's earlier clicks left them: `day_before` holds (count, earnings) of the click
    commissions of each UTC day before the batch, and each click priced here adds to its day.

    `partner` carries the partner's facts (group, country) and what they earned in each capped period
    before the batch; the clicks priced here add to that too."""
    tallies = dict(day_before)
    period_earned = dict(partner.period_earned)
    priced: list[Earnings | NoEarnings] = []
    # Without campaign windows a click's price depends on its time only through its day, and on the
    # tallies, which a click that earns nothing leaves as they were: the next click of that day gets the
    # same answer (a flood past the daily cap is priced once a day and batch, not once a click).
    timeless = all(compiled.rule.active is None for compiled in plan.compiled.get("click", ()))
    unearned: dict[datetime, NoEarnings] = {}
    for at in clicks_at:
        day = utc_day(at)
        if day in unearned:
            priced.append(unearned[day])
            continue
        count, earned = tallies.get(day, (0, 0))
        facts = replace(
            partner,
            kind="click",
            occurred_at=at,
            day_clicks=count,
            day_click_earned=earned,
            period_earned=dict(period_earned),
        )
        result = compute_earnings(plan, facts, program_currency)
        if isinstance(result, Earnings):
            tallies[day] = (count + 1, earned + result.earnings_amount)
            for period in period_earned:
                period_earned[period] += result.earnings_amount
        elif timeless:
            unearned[day] = result
        priced.append(result)
    return priced


@dataclass(frozen=True)
class UnpaidCommission:
    """What a ban needs to know of one of the partner's commissions."""

    id: str
    kind: CommissionKind
    status: CommissionStatus
    earnings_amount: int
    reverses_id: str = ""  # the original, for reversals and clawbacks


def status_on_ban(status: CommissionStatus, earnings_amount: int, choice: BanCommissions) -> CommissionStatus | None:
    """Where a ban puts an original commission, or None when it leaves it alone.

    Pending and on-hold earnings are rejected or held as the manager chose; approved ones are held
    either way (earned past their hold: the manager decides, and held they are not available);
    a debt (negative earnings) is held, never rejected, so a ban does not forgive it; paid,
    reversed and rejected commissions are never touched.
    """
    if status is CommissionStatus.APPROVED:
        return CommissionStatus.ON_HOLD
    if status in (CommissionStatus.PENDING, CommissionStatus.ON_HOLD):
        if choice is BanCommissions.REJECT and earnings_amount >= 0:
            return CommissionStatus.REJECTED
        return CommissionStatus.ON_HOLD
    return None


def ban_moves(commissions: list[UnpaidCommission], choice: BanCommissions) -> dict[str, CommissionStatus]:
    """The new status of each of a banned partner's commissions that changes, by id. Reversals and
    clawbacks follow their original (as `reversal_status` says); those of an untouched original stay."""
    targets = {
        row.id: status_on_ban(row.status, row.earnings_amount, choice)
        for row in commissions
        if not row.kind.follows_original
    }
    moves: dict[str, CommissionStatus] = {}
    for row in commissions:
        if row.kind.follows_original:
            original = targets.get(row.reverses_id)
            target = None if original is None else reversal_status(original)
        else:
            target = targets[row.id]
        if target is not None and target is not row.status:
            moves[row.id] = target
    return moves
