"""Conversions: track a lead, a sale or a refund, attribute it and price its commissions.

Each is idempotent by the event's unique business key (lead: customer + event name; sale: invoice;
refund: refund id): the same request again answers the first result and writes nothing.
Every lookup that can refuse the request runs before the first write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.earning import CreditSplit, SaleFacts, earn
from partnerloop.commission.rules import RefundPlan, is_in_future, plan_refund
from partnerloop.commission.service import commission_out
from partnerloop.conversion import repository, screens
from partnerloop.conversion.attribution import (
    APPROVED,
    ClickTouch,
    CodeTouch,
    CouponTouch,
    CurrentPartner,
    Touch,
    attribute,
)
from partnerloop.conversion.clicks import find_click
from partnerloop.conversion.errors import (  # raised here, named by the API
    ClickNotFound,
    InvoiceConflict,
    OccurredInFuture,
    ReferralCodeNotFound,
    RefundConflict,
    RefundCurrencyMismatch,
    RefundExceedsSale,
    SaleNotFound,
)
from partnerloop.conversion.events import tracked
from partnerloop.conversion.multitouch import AttributionModel, Touchpoint, split_shares
from partnerloop.conversion.schemas import (
    CustomerOut,
    LeadIn,
    LeadOut,
    RefundIn,
    RefundOut,
    SaleIn,
    SaleOut,
    TrackedLead,
    TrackedRefund,
    TrackedSale,
)
from partnerloop.conversion.screens import screened
from partnerloop.conversion.touches import customer_touches
from partnerloop.coupon import service as coupon_service
from partnerloop.engagement.service.tiers import evaluate_soon as check_tiers_soon
from partnerloop.fx import service as fx
from partnerloop.kit.emails import email_key
from partnerloop.kit.ids import new_id
from partnerloop.kit.money import format_money, normalize_currency, prorate
from partnerloop.models import Commission, Customer, Enrollment, Event, Program
from partnerloop.partner import service as partner_service

NO_PARTNER_STATUS = "no longer enrolled"
# The end of the note of a sale recorded while its currency had no rate (waiting.price_waiting_sales).
AWAITING_RATE = "the sale is priced when a rate for its day arrives (POST /api/v1/fx-rates, a CSV or the ECB's)."


# ---------------------------------------------------------------- look-ups for other domains


def click_exists(session: Session, program_id: str, click_id: str) -> bool:
    """Whether the click is stored, or recovered now from its signed id (clicks.find_click)."""
    return find_click(session, program_id, click_id) is not None


def sale_of_invoice(session: Session, program_id: str, invoice_id: str, *, lock: bool = False) -> Event | None:
    """The program's sale of this invoice (locked when asked: before refunding it), or None."""
    return repository.event_by_key(session, program_id, "sale", invoice_id, lock=lock)


def refunded_total(session: Session, sale_id: str) -> int:
    """What the sale's refunds add up to, in the sale's currency."""
    return repository.refunded_total(session, sale_id)


def customer_for(session: Session, program_id: str, external_id: str) -> Customer:
    """The program's customer with this external id, created when new."""
    return repository.customer_for(session, program_id, external_id)


# ---------------------------------------------------------------- shared steps


def _occurred_at(requested: datetime | None, now: datetime) -> datetime:
    if requested is None:
        return now
    if is_in_future(requested, now):
        raise OccurredInFuture(f"occurred_at {requested.isoformat()} is in the future.")
    return requested


@dataclass(frozen=True)
class Found:
    """A touch and the enrollment of its partner (None when the partner left the program)."""

    touch: Touch
    enrollment: Enrollment | None


def _click_touch(session: Session, program: Program, click_id: str) -> Found:
    click = find_click(session, program.id, click_id)
    if click is None:
        raise ClickNotFound(f"No click {click_id} in this program.")
    enrollment = partner_service.enrollment_of(session, program.id, click.partner_id)
    status = enrollment.status if enrollment else NO_PARTNER_STATUS
    return Found(ClickTouch(click.id, click.partner_id, status, click.created_at, click.is_bot), enrollment)


def _code_touch(session: Session, program: Program, referral_code: str) -> Found:
    enrollment = partner_service.enrollment_by_code(session, program.id, referral_code)
    if enrollment is None:
        raise ReferralCodeNotFound(f"No partner with referral code '{referral_code}' in this program.")
    return Found(CodeTouch(referral_code, enrollment.partner_id, enrollment.status), enrollment)


def _coupon_touch(session: Session, program: Program, coupon_code: str) -> Found | None:
    """The active coupon's partner, or None when the code is not an active coupon of the program."""
    coupon = coupon_service.active_coupon_by_code(session, program.id, coupon_code)
    if coupon is None:
        return None
    enrollment = partner_service.enrollment_of(session, program.id, coupon.partner_id)
    status = enrollment.status if enrollment else NO_PARTNER_STATUS
    return Found(CouponTouch(coupon.code, coupon.partner_id, status), enrollment)


def _window_touches(session: Session, program: Program, customer: Customer, converted_at: datetime) -> list[Touchpoint]:
    """The customer's non-bot clicks within the cookie window before the conversion, oldest first."""
    window = timedelta(days=program.cookie_days)
    touches = [
        Touchpoint(click.partner_id, click.created_at, click.id)
        for click in customer_touches(session, program, customer)
        if converted_at - window <= click.created_at <= converted_at
    ]
    return sorted(touches, key=lambda touch: (touch.touched_at, touch.click_id))


def _first_click(
    session: Session, program: Program, customer: Customer, found: Found | None, at: datetime
) -> Found | None:
    """First click: a click that would attribute the customer gives way to their first touch in the window."""
    if found is None or not isinstance(found.touch, ClickTouch) or customer.partner_id is not None:
        return found
    touches = _window_touches(session, program, customer, at)
    if not touches or touches[0].click_id == found.touch.click_id:
        return found
    return _click_touch(session, program, touches[0].click_id)


def credit_split(session: Session, program: Program, customer: Customer, converted_at: datetime) -> CreditSplit | None:
    """Under a multi-touch model, the touches of approved partners a sale's commission is split over,
    with their enrollments (None when fewer than two partners touched). The plan simulator replays
    past sales through this too (`conversion/replay.py`)."""
    model = AttributionModel(program.attribution_model)
    if not model.splits:
        return None
    touches = _window_touches(session, program, customer, converted_at)
    approved: dict[str, Enrollment] = {}
    for partner_id in sorted({touch.partner_id for touch in touches}):
        enrollment = partner_service.enrollment_of(session, program.id, partner_id)
        if enrollment is not None and enrollment.status == APPROVED:
            approved[partner_id] = enrollment
    touches = [touch for touch in touches if touch.partner_id in approved]
    if len(approved) < 2:
        return None
    shares = split_shares(model, touches, converted_at)
    return CreditSplit(model.value, tuple(shares), enrollments=approved)


def _attribute_and_earn(
    session: Session, program: Program, customer: Customer, found: Found | None, event: Event, sale: SaleFacts | None
) -> list[Commission]:
    """Decide and record who the customer is credited to (kept once attributed), then price the
    event for that partner (under a multi-touch model, a sale for each touching partner under their
    own plan). Returns its commissions; when the event (or a share) earned nothing, `event.note` says why."""
    enrollment = _attribute(session, program, customer, found, event)
    if enrollment is None:
        return []
    commissions, reason = earn(
        session,
        program,
        enrollment=enrollment,
        event=event,
        customer=customer,
        sale=sale,
        click_id=customer.click_id,
        split=credit_split(session, program, customer, event.occurred_at) if sale is not None else None,
    )
    if reason is not None:
        event.note = reason
    return screened(session, program, customer, event, commissions)


def _attribute(
    session: Session, program: Program, customer: Customer, found: Found | None, event: Event
) -> Enrollment | None:
    """Decide and record who the customer is credited to (kept once attributed); the enrollment that
    earns on the event, or None with `event.note` saying why none does."""
    current = enrollment = None
    if customer.partner_id is not None:
        enrollment = partner_service.enrollment_of(session, program.id, customer.partner_id)
        current = CurrentPartner(customer.partner_id, enrollment.status if enrollment else NO_PARTNER_STATUS)
    first_click = program.attribution_model == AttributionModel.FIRST_CLICK
    if first_click:
        found = _first_click(session, program, customer, found, event.occurred_at)
    touch = found.touch if found else None
    attribution = attribute(
        current=current, touch=touch, converted_at=event.occurred_at, cookie_days=program.cookie_days
    )
    if attribution.newly_attributed:
        assert found is not None  # only a touch attributes
        enrollment = found.enrollment
        customer.partner_id = attribution.partner_id
        customer.click_id = attribution.click_id
        customer.attributed_at = event.occurred_at
        explanation = attribution.explanation
        if first_click and explanation.startswith("last click"):
            explanation = "first" + explanation[len("last") :]
        customer.attribution = explanation[:300]
    elif customer.partner_id is None:
        customer.attribution = attribution.explanation[:300]
    if attribution.no_earnings_reason is not None or enrollment is None:
        event.note = attribution.no_earnings_reason or "No commission: the customer's partner left the program."
        return None
    event.partner_id = enrollment.partner_id  # the partner's volume: tiers, bonuses, the simulator
    session.flush()
    return enrollment


def _customer_facts(customer: Customer, country: str | None, metadata: Mapping[str, object] | None) -> None:
    """What tracking says about the customer (conditions may test it): the country, merged metadata."""
    if country is not None:
        customer.country = country
    if metadata:
        customer.metadata_ = {**(customer.metadata_ or {}), **metadata}


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        external_id=customer.external_id,
        partner_id=customer.partner_id,
        click_id=customer.click_id,
        attributed_at=customer.attributed_at,
        attribution=customer.attribution,
    )


# ---------------------------------------------------------------- leads


def _lead_answer(
    session: Session, lead: Event, customer: Customer, commissions: list[Commission] | None = None
) -> TrackedLead:
    if commissions is None:
        commissions = commission_service.commissions_of_event(session, lead.id)
    return TrackedLead(
        lead=LeadOut(
            id=lead.id,
            event_name=lead.name or "",
            customer_id=lead.customer_id,
            click_id=lead.click_id,
            occurred_at=lead.occurred_at,
        ),
        customer=customer_out(customer),
        commissions=[commission_out(commission) for commission in commissions],
        no_commission_reason=None if commissions else lead.note,
    )


def track_lead(session: Session, program: Program, body: LeadIn, now: datetime) -> TrackedLead:
    """Record a lead (one per customer and event name), attribute the customer, price it."""
    occurred_at = _occurred_at(body.occurred_at, now)
    if body.click_id is not None:
        found = _click_touch(session, program, body.click_id)
    else:
        assert body.referral_code is not None  # the schema requires one of the two
        found = _code_touch(session, program, body.referral_code)
    customer = repository.customer_for(session, program.id, body.customer_external_id)
    lead, created = repository.insert_event(
        session,
        {
            "program_id": program.id,
            "kind": "lead",
            "business_key": f"{customer.id}:{body.event_name}",
            "customer_id": customer.id,
            "name": body.event_name,
            "click_id": body.click_id,
            "occurred_at": occurred_at,
        },
    )
    if not created:
        return _lead_answer(session, lead, customer)
    if body.email is not None:
        customer.email_hash = email_key(body.email)  # normalized: Gmail dots and +tags are one mailbox
    if body.name is not None:
        customer.name = body.name
    _customer_facts(customer, body.customer_country, body.customer_metadata)
    commissions = _attribute_and_earn(session, program, customer, found, lead, None)
    screens.converted(session, program, customer, lead, email=body.email)
    session.flush()
    return tracked(session, program.id, _lead_answer(session, lead, customer, commissions))


# ---------------------------------------------------------------- sales


def sale_out(sale: Event) -> SaleOut:
    return SaleOut(
        id=sale.id,
        invoice_id=sale.invoice_id or sale.business_key,
        customer_id=sale.customer_id,
        amount=sale.amount or 0,
        currency=sale.currency or "",
        product_id=sale.product_id,
        coupon_code=sale.coupon_code,
        click_id=sale.click_id,
        occurred_at=sale.occurred_at,
        awaiting_rate=sale.awaiting_rate,
    )


def _sale_answer(
    session: Session, sale: Event, customer: Customer, commissions: list[Commission] | None = None
) -> TrackedSale:
    if commissions is None:
        commissions = commission_service.commissions_of_event(session, sale.id)
    return TrackedSale(
        sale=sale_out(sale),
        customer=customer_out(customer),
        commissions=[commission_out(commission) for commission in commissions],
        no_commission_reason=None if commissions else sale.note,
    )


def _replay_sale(session: Session, sale: Event, body: SaleIn, currency: str) -> TrackedSale:
    """The same invoice again: the first answer, unless the request says something else."""
    customer = session.get(Customer, sale.customer_id)
    assert customer is not None  # events reference their customer
    if (sale.amount, sale.currency, customer.external_id) != (body.amount, currency, body.customer_external_id):
        raise InvoiceConflict(
            f"Invoice {body.invoice_id} was recorded already as {format_money(sale.amount or 0, sale.currency or currency)}"
            f" for customer {customer.external_id}; a different amount, currency or customer cannot reuse it."
        )
    return _sale_answer(session, sale, customer)


def track_sale(session: Session, program: Program, body: SaleIn, now: datetime) -> TrackedSale:
    """Record a sale once per invoice, attribute the customer, price it under the partner's plan.

    A sale in another currency is converted to the program's at the latest rate on or before its day
    (both amounts are kept). Without a rate yet it is recorded and attributed, `awaiting_rate`, and
    earns nothing until price_waiting_sales prices it when a rate for its day arrives.
    """
    occurred_at = _occurred_at(body.occurred_at, now)
    currency = normalize_currency(body.currency)
    known, customer, first_at = repository.sale_lookup(session, program.id, body.customer_external_id, body.invoice_id)
    if known is not None:  # a retry: answer it (or refuse a changed one) before anything else
        return _replay_sale(session, known, body, currency)
    conversion = fx.try_to_program_currency(session, program, body.amount, currency, occurred_at)
    found = _click_touch(session, program, body.click_id) if body.click_id is not None else None
    unknown_coupon = False
    if found is None and body.coupon_code is not None:  # a partner's coupon attributes without a click
        found = _coupon_touch(session, program, body.coupon_code)
        unknown_coupon = found is None  # the sale is still recorded: a real sale is never lost
    if customer is None:  # the only write before the sale's own: after every look-up that can refuse
        customer, first_at = repository.new_customer(session, program.id, body.customer_external_id)
    sale, created = repository.insert_event(
        session,
        {
            "program_id": program.id,
            "kind": "sale",
            "business_key": body.invoice_id,
            "customer_id": customer.id,
            "amount": body.amount,
            "currency": currency,
            "program_amount": conversion.program_amount if conversion is not None else 0,
            "fx_rate": conversion.fx_rate if conversion is not None else None,
            "awaiting_rate": conversion is None,
            "invoice_id": body.invoice_id,
            "product_id": body.product_id,
            "coupon_code": body.coupon_code,
            "click_id": body.click_id,
            "occurred_at": occurred_at,
        },
    )
    if not created:  # the invoice is known: a retry, or a concurrent request that won
        return _replay_sale(session, sale, body, currency)
    _customer_facts(customer, body.customer_country, body.customer_metadata)
    if conversion is None:
        commissions = []
        if _attribute(session, program, customer, found, sale) is not None:
            missing = fx.missing_rate(program, currency, occurred_at)
            sale.note = f"Commission pending: {missing[0].lower()}{missing[1:]} yet; {AWAITING_RATE}"
    else:
        commissions = _attribute_and_earn(session, program, customer, found, sale, _sale_facts(program, sale, first_at))
    screens.converted(session, program, customer, sale)
    if unknown_coupon and customer.partner_id is None:
        sale.note = (
            f"No commission: coupon code '{body.coupon_code}' is not an active coupon of this program, "
            "and no click or earlier partner attributes the customer."
        )
    check_tiers_soon(session, program.id, [commission.partner_id for commission in commissions])
    session.flush()
    return tracked(session, program.id, _sale_answer(session, sale, customer, commissions))


def _stored_sale_facts(session: Session, program: Program, sale: Event) -> SaleFacts:
    """The engine's facts of a sale recorded earlier, as track_sale had them."""
    return _sale_facts(program, sale, repository.first_other_sale_at(session, sale.customer_id, sale.id))


def _sale_facts(program: Program, sale: Event, earlier: datetime | None) -> SaleFacts:
    """The engine's facts of a sale, given the time of the customer's earliest other sale (None: none)."""
    is_first = earlier is None or earlier > sale.occurred_at
    return SaleFacts(
        amount=sale.program_amount if sale.program_amount is not None else sale.amount or 0,
        original_amount=sale.amount or 0,
        original_currency=sale.currency or program.currency,
        fx_rate=sale.fx_rate,
        first_sale_at=sale.occurred_at if is_first or earlier is None else earlier,
        is_first_sale=is_first,
        product_id=sale.product_id,
        coupon_code=sale.coupon_code,
    )


def attribute_customer(
    session: Session,
    program: Program,
    customer_external_id: str,
    *,
    click_id: str | None,
    coupon_code: str | None,
    occurred_at: datetime,
) -> tuple[Customer, list[Commission]]:
    """Attribute a customer through a click (else a coupon) outside any conversion, e.g. a Stripe
    checkout session arriving after its invoice, then price the customer's sales that earned nothing
    for want of a partner (and were not refunded). A customer credited already keeps their partner.

    Returns the customer and the commissions created. Raises ClickNotFound for an unknown click id.
    """
    found = _click_touch(session, program, click_id) if click_id is not None else None
    if found is None and coupon_code is not None:
        found = _coupon_touch(session, program, coupon_code)
    customer = repository.customer_for(session, program.id, customer_external_id)
    if found is None or customer.partner_id is not None:
        return customer, []
    attribution = attribute(current=None, touch=found.touch, converted_at=occurred_at, cookie_days=program.cookie_days)
    if not attribution.newly_attributed:
        customer.attribution = attribution.explanation[:300]
        session.flush()
        return customer, []
    customer.partner_id = attribution.partner_id
    customer.click_id = attribution.click_id
    customer.attributed_at = occurred_at
    customer.attribution = attribution.explanation[:300]
    created: list[Commission] = []
    for sale in repository.unattributed_sales(session, customer.id):
        sale.note = None
        created += _attribute_and_earn(
            session, program, customer, None, sale, _stored_sale_facts(session, program, sale)
        )
        screens.converted(session, program, customer, sale)
        # Refunds recorded before the partner was known reverse the new commissions now, as if in order.
        refunded = 0
        for refund in repository.refunds_of_sale(session, sale.id) if sale.partner_id is not None else []:
            refunded += refund.amount or 0
            refund.partner_id = sale.partner_id
            commission_service.reverse_for_refund(session, sale, refund, RefundPlan(refund.amount or 0, refunded))
    session.flush()
    return customer, created


# ---------------------------------------------------------------- refunds

REFUND_ID_PREFIX = "r:"


def _refund_key(sale: Event, body: RefundIn) -> tuple[str, bool]:
    """The refund's business key, and whether a retry of the same request maps to it again.

    A refund_id is the merchant's idempotency key; a full refund without one is "the rest of this
    sale" (one per sale); a partial refund without one cannot be told apart from another, so each is new.
    """
    if body.refund_id is not None:
        return REFUND_ID_PREFIX + body.refund_id, True
    if body.amount is None:
        return f"full:{sale.id}", True
    return f"once:{new_id()}", False


def _refund_answer(session: Session, refund: Event, sale: Event) -> TrackedRefund:
    key = refund.business_key
    return TrackedRefund(
        refund=RefundOut(
            id=refund.id,
            invoice_id=sale.invoice_id or sale.business_key,
            sale_id=sale.id,
            refund_id=key[len(REFUND_ID_PREFIX) :] if key.startswith(REFUND_ID_PREFIX) else None,
            amount=refund.amount or 0,
            currency=refund.currency or "",
            occurred_at=refund.occurred_at,
        ),
        sale=sale_out(sale),
        commissions=[
            commission_out(commission) for commission in commission_service.commissions_of_event(session, refund.id)
        ],
    )


def _replay_refund(session: Session, refund: Event, sale: Event, body: RefundIn) -> TrackedRefund:
    if refund.sale_event_id != sale.id:
        raise RefundConflict(f"Refund {body.refund_id} was recorded already for another invoice.")
    if body.amount is not None and body.amount != refund.amount:
        recorded = format_money(refund.amount or 0, refund.currency or sale.currency or "")
        raise RefundConflict(f"Refund {body.refund_id} was recorded already as {recorded}.")
    return _refund_answer(session, refund, sale)


def _refund_program_amount(sale: Event, decided: RefundPlan) -> int:
    """The refund in the program's currency, at the sale's rate: cumulative shares rounded once each,
    so that refunds adding up to the sale add up to its converted amount."""
    converted, whole = sale.program_amount or 0, sale.amount or 1
    before = decided.refunded_total - decided.amount
    return prorate(converted, decided.refunded_total, whole) - prorate(converted, before, whole)


def track_refund(session: Session, program: Program, body: RefundIn, now: datetime) -> TrackedRefund:
    """Record a refund of a sale (all that is left when no amount is given) and reverse its
    commissions proportionally. A refund beyond what is left is refused."""
    occurred_at = _occurred_at(body.occurred_at, now)
    currency = normalize_currency(body.currency) if body.currency is not None else None
    # Locked: two refunds of one sale must not both spend the same remaining amount.
    sale = repository.event_by_key(session, program.id, "sale", body.invoice_id, lock=True)
    if sale is None:
        raise SaleNotFound(f"No sale with invoice_id {body.invoice_id} in this program.")
    if currency is not None and currency != sale.currency:
        raise RefundCurrencyMismatch(
            f"Invoice {body.invoice_id} is in {(sale.currency or '').upper()}; a refund in {currency.upper()} cannot apply."
        )
    key, repeatable = _refund_key(sale, body)
    if repeatable:
        existing = repository.event_by_key(session, program.id, "refund", key)
        if existing is not None:
            return _replay_refund(session, existing, sale, body)
    decided = plan_refund(
        body.amount, sale.amount or 0, repository.refunded_total(session, sale.id), sale.currency or ""
    )
    if isinstance(decided, str):
        raise RefundExceedsSale(decided)
    refund, created = repository.insert_event(
        session,
        {
            "program_id": program.id,
            "kind": "refund",
            "business_key": key,
            "customer_id": sale.customer_id,
            "amount": decided.amount,
            "currency": sale.currency,
            "program_amount": _refund_program_amount(sale, decided),
            "fx_rate": sale.fx_rate,
            "partner_id": sale.partner_id,
            "invoice_id": sale.invoice_id,
            "sale_event_id": sale.id,
            "occurred_at": occurred_at,
        },
    )
    if not created:
        return _replay_refund(session, refund, sale, body)
    commission_service.reverse_for_refund(session, sale, refund, decided)
    check_tiers_soon(session, program.id, [sale.partner_id or ""])
    screens.refunded(session, program, sale, occurred_at)
    session.flush()
    return tracked(session, program.id, _refund_answer(session, refund, sale))
