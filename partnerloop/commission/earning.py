"""Pricing events: gather the facts the engine needs, call it, record the commission and its postings.

The facts (partner volume before the event, what the customer and the period earned so far, the
partner's group and country, the customer's country and metadata) are read here and handed to the
pure engine in `plan/rules.py`; its answer is recorded as a pending commission with a ledger posting
in the same transaction, and so is any bonus the event makes the partner reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.commission.rules import CommissionKind, CommissionStatus
from partnerloop.ledger import service as ledger
from partnerloop.models import Commission, Customer, Enrollment, Event, Group, Program
from partnerloop.plan import repository as plan_repository
from partnerloop.plan.rules import (
    Earnings,
    EventFacts,
    PlanTerms,
    capped_periods,
    choose_plan_id,
    compute_earnings,
    needed_stats,
    needs_customer_earned,
    period_start,
    reached_bonuses,
)
from partnerloop.plan.service import cached_plan_terms
from partnerloop.tracking.multitouch import DEFAULT_HALF_LIFE_DAYS, AttributionModel, Touchpoint, split_credit

TRACKING = "tracking"


def hold_until(program: Program, occurred_at: datetime) -> datetime:
    return occurred_at + timedelta(days=program.hold_days)


@dataclass(frozen=True)
class PartnerContext:
    """The partner as the engine sees them: enrollment, country, group."""

    enrollment: Enrollment
    country: str | None
    group: Group | None


def partner_context(session: Session, program: Program, enrollment: Enrollment) -> PartnerContext:
    country, group = repository.partner_facts(session, program.id, enrollment.partner_id)
    return PartnerContext(enrollment, country, group)


def plan_for(session: Session, program: Program, context: PartnerContext) -> PlanTerms | None:
    """The enrollment's own plan, else its group's, else the program's default plan, else none."""
    plan_id = choose_plan_id(
        context.enrollment.plan_id, context.group.plan_id if context.group else None, program.default_plan_id
    )
    if plan_id is None:
        return None
    plan = plan_repository.get_plan(session, program.id, plan_id)
    return None if plan is None else cached_plan_terms(plan)


@dataclass(frozen=True)
class SaleFacts:
    """The sale part of the facts, as tracking knows it."""

    amount: int  # the program's currency
    original_amount: int
    original_currency: str
    fx_rate: str | None
    first_sale_at: datetime
    is_first_sale: bool
    product_id: str | None
    coupon_code: str | None


_MODEL_LABELS = {
    AttributionModel.LINEAR: "linear",
    AttributionModel.TIME_DECAY: "time-decay",
    AttributionModel.POSITION: "position-based",
}


@dataclass(frozen=True)
class CreditSplit:
    """A multi-touch model and the attributable touches a sale's commission is split over."""

    model: AttributionModel
    touches: tuple[Touchpoint, ...]
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS


@dataclass(frozen=True)
class Share:
    partner_id: str
    amount: int
    click_id: str | None
    label: str | None  # "40% share (position-based)"; None when one partner takes it all


def _percent(bps: int) -> str:
    return f"{bps // 100}%" if bps % 100 == 0 else f"{bps / 100:.2f}".rstrip("0").rstrip(".") + "%"


def split_shares(split: CreditSplit, total: int, converted_at: datetime) -> list[Share]:
    """The commission `total` split per partner (amounts sum exactly to it; zero shares left out)."""
    credits = split_credit(split.model, split.touches, total, converted_at, split.half_life_days)
    bps = {
        credit.partner_id: credit.amount
        for credit in split_credit(split.model, split.touches, 10_000, converted_at, split.half_life_days)
    }
    last_click = {
        touch.partner_id: touch.click_id or None for touch in sorted(split.touches, key=lambda t: t.touched_at)
    }
    label = _MODEL_LABELS.get(split.model, split.model.value)
    return [
        Share(credit.partner_id, credit.amount, last_click.get(credit.partner_id),
              f"{_percent(bps.get(credit.partner_id, 0))} share ({label})")
        for credit in credits
        if credit.amount != 0 or len(credits) == 1
    ]  # fmt: skip


def gather_facts(
    session: Session,
    program: Program,
    plan: PlanTerms | None,
    context: PartnerContext,
    *,
    event: Event,
    customer: Customer,
    sale: SaleFacts | None,
) -> EventFacts:
    """Everything the engine may look at for this event, read only as far as the plan needs it."""
    stats: dict[tuple[str, str], int] = {}
    customer_earned = 0
    period_earned: dict[str, int] = {}
    partner_id = context.enrollment.partner_id
    if plan is not None:
        needed = needed_stats(plan)
        for kind, metrics in (("sale", ("sales_count", "revenue")), ("lead", ("leads_count",))):
            periods = {period for metric, period in needed if metric in metrics}
            if not periods:
                continue
            starts = {period: period_start(event.occurred_at, period) for period in sorted(periods)}
            volume = repository.partner_volume(
                session, partner_id, kind=kind, before=(event.occurred_at, event.id), starts=starts
            )
            for period, (count, amount) in volume.items():
                if kind == "sale":
                    stats[("sales_count", period)] = count
                    stats[("revenue", period)] = amount
                else:
                    stats[("leads_count", period)] = count
        if needs_customer_earned(plan):
            customer_earned = repository.customer_earned(session, partner_id, customer.id)
        periods = capped_periods(plan)
        if periods:
            starts = {period: period_start(event.occurred_at, period) for period in sorted(periods)}
            period_earned = repository.period_earned(session, program.id, partner_id, starts)
    group = context.group
    return EventFacts(
        kind="sale" if sale is not None else "lead",
        occurred_at=event.occurred_at,
        amount=sale.amount if sale else 0,
        currency=program.currency if sale else "",
        first_sale_at=sale.first_sale_at if sale else None,
        is_first_sale=sale.is_first_sale if sale else True,
        original_amount=sale.original_amount if sale else None,
        original_currency=sale.original_currency if sale else None,
        fx_rate=sale.fx_rate if sale else None,
        product_id=sale.product_id if sale else None,
        coupon_code=sale.coupon_code if sale else None,
        customer_country=customer.country,
        customer_metadata=customer.metadata_ or {},
        partner_group_id=group.id if group else None,
        partner_group_name=group.name if group else None,
        partner_country=context.country,
        stats=stats,
        customer_earned=customer_earned,
        period_earned=period_earned,
    )


def earn(
    session: Session,
    program: Program,
    *,
    enrollment: Enrollment,
    event: Event,
    customer: Customer,
    sale: SaleFacts | None,
    click_id: str | None,
    split: CreditSplit | None = None,
) -> tuple[list[Commission], str | None]:
    """Price the event under the partner's plan; record a pending commission and any bonus reached.

    With `split` (a sale under a multi-touch model) the commission priced for this partner is shared
    by the touches' partners instead: one commission per partner, the amounts summing exactly to it.

    Returns the event's commissions and, when the event itself earned nothing, the sentence saying why.
    """
    context = partner_context(session, program, enrollment)
    plan = plan_for(session, program, context)
    facts = gather_facts(session, program, plan, context, event=event, customer=customer, sale=sale)
    priced = compute_earnings(plan, facts, program.currency)
    reason: str | None = None
    created: list[Commission] = []
    if isinstance(priced, Earnings):
        assert plan is not None  # compute_earnings earns nothing without a plan
        shares = [Share(enrollment.partner_id, priced.earnings_amount, click_id, None)]
        if split is not None and sale is not None:
            shares = split_shares(split, priced.earnings_amount, event.occurred_at)
        for share in shares:
            explanation, explanation_data = priced.explanation, priced.explanation_data
            if share.label is not None:
                explanation = f"{share.label} of {priced.explanation}"[:1000]
                explanation_data = {
                    **priced.explanation_data,
                    "share": {
                        "label": share.label,
                        "model": split.model.value if split else None,
                        "of_amount": priced.earnings_amount,
                        "credited_partner_id": enrollment.partner_id,
                    },
                }
            commission = repository.insert_commission(
                session,
                {
                    "program_id": program.id,
                    "partner_id": share.partner_id,
                    "customer_id": customer.id,
                    "event_id": event.id,
                    "click_id": share.click_id,
                    "kind": facts.kind,
                    "reverses_id": "",
                    "amount": sale.original_amount if sale else 0,
                    "currency": sale.original_currency if sale else program.currency,
                    "program_amount": sale.amount if sale else None,
                    "fx_rate": sale.fx_rate if sale else None,
                    "earnings_amount": share.amount,
                    "earnings_currency": priced.earnings_currency,
                    "status": CommissionStatus.PENDING.value,
                    "plan_id": plan.id,
                    "rule_index": priced.rule_index,
                    "rule": priced.rule,
                    "explanation": explanation,
                    "explanation_data": explanation_data,
                    "occurred_at": event.occurred_at,
                    "hold_until": hold_until(program, event.occurred_at),
                },
            )
            if commission is not None:
                ledger.post_commission_created(session, commission, actor=TRACKING)
                created.append(commission)
    else:
        reason = priced.reason
    for bonus in reached_bonuses(plan, facts, program.currency):
        assert plan is not None
        row = repository.insert_bonus(
            session,
            {
                "program_id": program.id,
                "partner_id": enrollment.partner_id,
                "customer_id": None,
                "event_id": None,
                "trigger_event_id": event.id,
                "click_id": None,
                "kind": CommissionKind.BONUS.value,
                "reverses_id": "",
                "amount": 0,
                "currency": program.currency,
                "earnings_amount": bonus.earnings_amount,
                "earnings_currency": bonus.earnings_currency,
                "status": CommissionStatus.PENDING.value,
                "plan_id": plan.id,
                "bonus_key": bonus.bonus_key,
                "explanation": bonus.explanation,
                "explanation_data": bonus.explanation_data,
                "occurred_at": event.occurred_at,
                "hold_until": hold_until(program, event.occurred_at),
            },
        )
        if row is not None:
            ledger.post_commission_created(session, row, actor=TRACKING)
            created.append(row)
    if not created and reason is None:
        return repository.commissions_of_event(session, event.id), None
    return created, reason
