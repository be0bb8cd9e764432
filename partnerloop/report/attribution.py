"""Attribution report: one window's sales credited under every attribution model, side by side.

A sale's touches are the non-bot clicks of its customer's visitor within the program's cookie window
before the sale: the clicks its customer's conversions named (customer.click_id and the click ids of
their leads and sales), plus every other click by the same visitor (Click.visitor: truncated IP + user
agent). A sale with no click (coupon, referral code) is one touch of the partner it was credited to.
Each model splits the sale (as a conversion in basis points, its revenue, and its commission) with
`split_credit`, so every column sums exactly to the window's totals.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from partnerloop.commission.rules import CommissionStatus
from partnerloop.conversion.multitouch import MODELS, Touchpoint, split_credit
from partnerloop.conversion.touches import chunks, touches_by_customer
from partnerloop.models import Commission, Customer, Event, Program

ONE_CONVERSION_BPS = 10_000


class ModelCredit(BaseModel):
    conversions_bps: int = 0  # conversions credited, in basis points (10000 = one whole sale)
    revenue_amount: int = 0
    commission_amount: int = 0


class PartnerCredit(BaseModel):
    partner_id: str
    credit: dict[str, ModelCredit]


class AttributionReport(BaseModel):
    from_: datetime
    to: datetime
    currency: str
    half_life_days: float
    models: list[str]
    conversions: int
    revenue_amount: int
    commission_amount: int
    data: list[PartnerCredit]


def attribution_report(
    session: Session, program: Program, start: datetime, end: datetime, half_life_days: float
) -> AttributionReport:
    """Sales with `start <= occurred_at < end`, credited per partner under each model."""
    sales = list(
        session.execute(
            select(Event)
            .where(Event.program_id == program.id, Event.kind == "sale", Event.occurred_at >= start,
                   Event.occurred_at < end)
            .order_by(Event.occurred_at, Event.id)
        ).scalars()
    )  # fmt: skip
    customer_ids = sorted({sale.customer_id for sale in sales})
    customers: dict[str, Customer] = {}
    for chunk in chunks(customer_ids):
        for customer in session.execute(select(Customer).where(Customer.id.in_(chunk))).scalars():
            customers[customer.id] = customer
    commissions: dict[str, int] = defaultdict(int)
    sale_ids = [sale.id for sale in sales]
    for chunk in chunks(sale_ids):
        rows = session.execute(
            select(Commission.event_id, Commission.earnings_amount).where(
                Commission.program_id == program.id, Commission.event_id.in_(chunk), Commission.kind == "sale",
                Commission.reverses_id == "", Commission.earnings_currency == program.currency,
                or_(Commission.status.is_(None), Commission.status != CommissionStatus.REJECTED.value),
            )
        )  # fmt: skip
        for event_id, amount in rows:
            if event_id:
                commissions[event_id] += int(amount)
    clicks = touches_by_customer(session, program, customer_ids, customers)
    window = timedelta(days=program.cookie_days)

    totals: dict[str, dict[str, ModelCredit]] = defaultdict(lambda: {model.value: ModelCredit() for model in MODELS})
    counted = revenue_total = commission_total = 0
    for sale in sales:
        touches = [
            Touchpoint(click.partner_id, click.created_at, click.id)
            for click in clicks.get(sale.customer_id, [])
            if sale.occurred_at - window <= click.created_at <= sale.occurred_at
        ]
        if not touches and sale.partner_id:
            touches = [Touchpoint(sale.partner_id, sale.occurred_at)]
        if not touches:
            continue  # not attributed under any model
        counted += 1
        revenue = int(sale.program_amount if sale.program_amount is not None else sale.amount or 0)
        commission = commissions.get(sale.id, 0)
        revenue_total += revenue
        commission_total += commission
        for model in MODELS:
            shares = zip(
                split_credit(model, touches, ONE_CONVERSION_BPS, sale.occurred_at, half_life_days),
                split_credit(model, touches, revenue, sale.occurred_at, half_life_days),
                split_credit(model, touches, commission, sale.occurred_at, half_life_days),
                strict=True,
            )
            for conversion, revenue_share, commission_share in shares:
                credit = totals[conversion.partner_id][model.value]
                credit.conversions_bps += conversion.amount
                credit.revenue_amount += revenue_share.amount
                credit.commission_amount += commission_share.amount
    return AttributionReport(
        from_=start,
        to=end,
        currency=program.currency,
        half_life_days=half_life_days,
        models=[model.value for model in MODELS],
        conversions=counted,
        revenue_amount=revenue_total,
        commission_amount=commission_total,
        data=[PartnerCredit(partner_id=partner_id, credit=credit) for partner_id, credit in sorted(totals.items())],
    )
