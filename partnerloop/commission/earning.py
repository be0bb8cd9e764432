"""Pricing events: gather the facts the engine needs, call it, record the commission and its postings.

The facts (partner volume before the event, what the customer and the period earned so far, the
partner's group and country, the customer's country and metadata) are read here and handed to the
pure engine in `plan/rules.py`; its answer is recorded as a pending commission with a ledger posting
in the same transaction, and so is any bonus the event makes the partner reach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.commission.events import announce_created
from partnerloop.commission.rules import CommissionKind, CommissionStatus, Share
from partnerloop.ledger import service as ledger
from partnerloop.models import Commission, Customer, Enrollment, Event, Group, Plan, Program
from partnerloop.plan import service as plan_service
from partnerloop.plan.bonuses import reached_bonuses
from partnerloop.plan.rules import (
    Earnings,
    EventFacts,
    NoEarnings,
    PlanTerms,
    capped_periods,
    choose_plan_id,
    compute_earnings,
    needed_stats,
    needs_customer_earned,
    period_start,
)
from partnerloop.plan.service import cached_plan_terms

TRACKING = "tracking"


def hold_until(program: Program, occurred_at: datetime) -> datetime:
    return occurred_at + timedelta(days=program.hold_days)


@dataclass(frozen=True)
class PartnerContext:
    """The partner as the engine sees them: enrollment, country, group; and the plan row read with them."""

    enrollment: Enrollment
    country: str | None
    group: Group | None
    plan: Plan | None = field(default=None, compare=False)


def partner_context(session: Session, program: Program, enrollment: Enrollment) -> PartnerContext:
    country, group, plan = repository.partner_facts(session, program.id, enrollment.partner_id, program.default_plan_id)
    return PartnerContext(enrollment, country, group, plan)


def plan_for(session: Session, program: Program, context: PartnerContext) -> PlanTerms | None:
    """The enrollment's own plan, else its group's, else the program's default plan, else none."""
    plan_id = choose_plan_id(
        context.enrollment.plan_id, context.group.plan_id if context.group else None, program.default_plan_id
    )
    if plan_id is None:
        return None
    # The plan came with the partner's facts when it is the one chosen; a look-up only otherwise.
    plan = context.plan if context.plan is not None and context.plan.id == plan_id else None
    plan = plan or plan_service.find_plan(session, program.id, plan_id)
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


@dataclass(frozen=True)
class CreditSplit:
    """A sale's commission split over several partners (a multi-touch model, decided by the
    conversion domain): the model's name, each partner's share in order of first touch, and the
    enrollment of each (read by the caller with the touches)."""

    model: str
    shares: tuple[Share, ...]
    enrollments: Mapping[str, Enrollment] = field(default_factory=dict, hash=False, compare=False)


def unearned_note(unearned: Sequence[tuple[str, str, str]]) -> str | None:
    """Why shares of a split sale earned nothing, from (partner id, share label, reason): one reason
    when every share has the same one (as for a single plan), else each partner's, within 500 chars."""
    reasons = {reason for _partner_id, _label, reason in unearned}
    if not reasons:
        return None
    if len(reasons) == 1:
        return next(iter(reasons))[:500]
    return " ".join(f"Partner {partner_id}'s {label}: {reason}" for partner_id, label, reason in unearned)[:500]


@dataclass(frozen=True)
class _Pricing:
    """What one partner earns of the event and under which plan (decided before anything is written)."""

    partner_id: str
    click_id: str | None
    plan: PlanTerms | None
    priced: Earnings | NoEarnings
    label: str | None = None


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


def _share_facts(
    session: Session,
    program: Program,
    share: Share,
    split: CreditSplit,
    credited: tuple[PartnerContext, PlanTerms | None, EventFacts],
    *,
    event: Event,
    customer: Customer,
    sale: SaleFacts,
) -> tuple[PlanTerms | None, EventFacts]:
    """A touching partner's own plan and facts (group, country, volume, caps), the credited partner's as read."""
    context, plan, facts = credited
    if share.partner_id != context.enrollment.partner_id:
        context = partner_context(session, program, split.enrollments[share.partner_id])
        plan = plan_for(session, program, context)
        facts = gather_facts(session, program, plan, context, event=event, customer=customer, sale=sale)
    return plan, facts


def _split_pricings(
    session: Session,
    program: Program,
    split: CreditSplit,
    credited: tuple[PartnerContext, PlanTerms | None, EventFacts],
    *,
    event: Event,
    customer: Customer,
    sale: SaleFacts,
) -> list[_Pricing]:
    """Each touching partner's share of the sale, priced under their own plan and facts (all read first)."""
    read = [
        (share, *_share_facts(session, program, share, split, credited, event=event, customer=customer, sale=sale))
        for share in split.shares
    ]
    return [
        _Pricing(share.partner_id, share.click_id, share_plan,
                 compute_earnings(share_plan, share_facts, program.currency, share.credit), share.credit.label)
        for share, share_plan, share_facts in read
    ]  # fmt: skip


def _share_data(
    priced: Earnings, split: CreditSplit, credited_partner_id: str, unearned: Sequence[tuple[str, str, str]]
) -> dict[str, Any]:
    """A share's explanation data: the model, who was credited, and the shares that earned nothing."""
    return {
        **priced.explanation_data,
        "share": {
            **priced.explanation_data.get("share", {}),
            "model": split.model,
            "credited_partner_id": credited_partner_id,
            "unearned": [
                {"partner_id": partner_id, "label": label, "reason": why} for partner_id, label, why in unearned
            ],
        },
    }


def _insert_earned(
    session: Session,
    program: Program,
    pricing: _Pricing,
    priced: Earnings,
    explanation_data: dict[str, Any],
    *,
    kind: str,
    event: Event,
    customer: Customer,
    sale: SaleFacts | None,
) -> Commission | None:
    """The pending commission of one priced partner (None: recorded already), posted to the ledger."""
    assert pricing.plan is not None  # compute_earnings earns nothing without a plan
    commission = repository.insert_commission(
        session,
        {
            "program_id": program.id,
            "partner_id": pricing.partner_id,
            "customer_id": customer.id,
            "event_id": event.id,
            "click_id": pricing.click_id,
            "kind": kind,
            "reverses_id": "",
            "amount": sale.original_amount if sale else 0,
            "currency": sale.original_currency if sale else program.currency,
            "program_amount": sale.amount if sale else None,
            "fx_rate": sale.fx_rate if sale else None,
            "earnings_amount": priced.earnings_amount,
            "earnings_currency": priced.earnings_currency,
            "status": CommissionStatus.PENDING.value,
            "plan_id": pricing.plan.id,
            "rule_index": priced.rule_index,
            "rule": priced.rule,
            "explanation": priced.explanation,
            "explanation_data": explanation_data,
            "occurred_at": event.occurred_at,
            "hold_until": hold_until(program, event.occurred_at),
        },
    )
    if commission is not None:
        ledger.post_commission_created(session, commission, actor=TRACKING)
    return commission


def _insert_bonuses(
    session: Session, program: Program, partner_id: str, plan: PlanTerms | None, facts: EventFacts, event: Event
) -> list[Commission]:
    """The plan bonuses the event reached for the credited partner (each at most once), posted to the ledger."""
    created = []
    for bonus in reached_bonuses(plan, facts, program.currency):
        assert plan is not None
        row = repository.insert_bonus(
            session,
            {
                "program_id": program.id,
                "partner_id": partner_id,
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
    return created


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

    With `split` (a sale under a multi-touch model) each touching partner earns their share instead:
    the whole sale priced under their own plan, with their own group, country, volume and caps, and
    their share of that taken before the caps cut it. A share that earns nothing leaves the others
    theirs. Bonuses follow the credited partner, whose volume the sale counts in.

    Returns the event's commissions and, when the event (or, for a split, a share) earned nothing,
    the sentence saying why.
    """
    context = partner_context(session, program, enrollment)
    plan = plan_for(session, program, context)
    facts = gather_facts(session, program, plan, context, event=event, customer=customer, sale=sale)
    # Read every partner's facts first, then decide for each, then write.
    if split is not None and sale is not None:
        credited = (context, plan, facts)
        pricings = _split_pricings(session, program, split, credited, event=event, customer=customer, sale=sale)
    else:
        pricings = [_Pricing(enrollment.partner_id, click_id, plan, compute_earnings(plan, facts, program.currency))]
    unearned = [
        (pricing.partner_id, pricing.label or "", pricing.priced.reason)
        for pricing in pricings
        if isinstance(pricing.priced, NoEarnings)
    ]
    reason = unearned_note(unearned)
    created: list[Commission] = []
    for pricing in pricings:
        priced = pricing.priced
        if not isinstance(priced, Earnings):
            continue
        data = priced.explanation_data
        if pricing.label is not None:
            assert split is not None
            data = _share_data(priced, split, enrollment.partner_id, unearned)
        commission = _insert_earned(
            session, program, pricing, priced, data, kind=facts.kind, event=event, customer=customer, sale=sale
        )
        if commission is not None:
            created.append(commission)
    created += _insert_bonuses(session, program, enrollment.partner_id, plan, facts, event)
    announce_created(session, created)
    if not created and (reason is None or any(isinstance(pricing.priced, Earnings) for pricing in pricings)):
        return repository.commissions_of_event(session, event.id), None  # recorded already
    return created, reason
