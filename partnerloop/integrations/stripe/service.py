"""Stripe webhooks: verify and store events (ingest), then map them onto tracking in a job (process).

Every Stripe id is a business key of tracking: an invoice id is the sale's invoice_id, a refund id the
refund's refund_id, so the same sale arriving as several event types, twice, or replayed is one sale.
An event that refers to something not seen yet (a refund before its sale) waits, and is processed
again when that thing arrives: events in any order reach the same end state.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import stripe
from pydantic import ValidationError
from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.rules import CommissionKind, CommissionStatus
from partnerloop.conversion import screens
from partnerloop.conversion import service as track_service
from partnerloop.conversion.schemas import RefundIn, SaleIn
from partnerloop.coupon import service as coupon_service
from partnerloop.integrations.stripe import repository, rules
from partnerloop.integrations.stripe.rules import Envelope, EventStatus, PromotionRef
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.emails import email_key
from partnerloop.kit.errors import AppError, NotFound
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.models import Program, StripeDispute, StripeEvent
from partnerloop.program.stripe_secrets import stripe_webhook_secret
from partnerloop.referral import service as referral_service

log = logging.getLogger("partnerloop.stripe")

PROCESS_JOB = "stripe.process_event"
RETRY_CLICK_WAITS_JOB = "stripe.retry_click_waits"
ACTOR = "stripe"
TOLERANCE_SECONDS = 300
MAX_METADATA_KEYS = 50
CONNECTION_TEST_NOTE = "a connection test from the Stripe page: its signature verified with the saved secret"


class StripeProgramNotFound(NotFound):
    pass


class StripeWebhookError(AppError):
    status_code = 400


class StripeNotConfigured(StripeWebhookError):
    pass


class InvalidSignature(StripeWebhookError):
    pass


class MalformedEvent(StripeWebhookError):
    pass


class StripeEventNotFound(NotFound):
    pass


# ---------------------------------------------------------------- ingest


def signing_secret(program: Program) -> str:
    """The program's Stripe signing secret (the one place it is read), or StripeNotConfigured."""
    secret = stripe_webhook_secret(program)
    if not secret:
        raise StripeNotConfigured(
            "This program has no Stripe signing secret yet: set it with PATCH /api/v1/program "
            '{"stripe_webhook_secret": "whsec_..."} or on the Stripe page of the dashboard.'
        )
    return secret


def verify(program: Program, payload: bytes, signature: str | None) -> tuple[Envelope, dict[str, Any]]:
    """Check the Stripe-Signature header with the official library (300 s tolerance) and read the event;
    a timestamp more than 300 s ahead of our clock is refused too (the library checks only the past).

    Raises StripeNotConfigured, InvalidSignature or MalformedEvent (all 400): nothing is written then.
    """
    secret = signing_secret(program)
    if not signature:
        raise InvalidSignature("The request has no Stripe-Signature header.")
    try:
        text = payload.decode("utf-8")
        # construct_event would also build a StripeObject; the check is the same, the dict is all we keep.
        stripe.WebhookSignature.verify_header(text, signature, secret, TOLERANCE_SECONDS)
    except UnicodeDecodeError:
        raise MalformedEvent("The body is not UTF-8 text.")
    except stripe.SignatureVerificationError as error:
        raise InvalidSignature(f"The Stripe signature does not verify: {error.user_message or error}")
    signed_at = rules.signature_timestamp(signature)
    if signed_at is None or rules.is_signed_in_the_future(signed_at, utc_now().timestamp(), TOLERANCE_SECONDS):
        raise InvalidSignature(
            f"The Stripe signature's timestamp is more than {TOLERANCE_SECONDS} s in the future: check the clocks."
        )
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedEvent("The body is not valid JSON.")
    envelope = rules.read_envelope(data)
    if isinstance(envelope, str):
        raise MalformedEvent(f"The body is not a Stripe event: {envelope}.")
    return envelope, data


def store(session: Session, program: Program, envelope: Envelope, data: dict[str, Any]) -> str | None:
    """Store the event once (a repeat of its id does nothing) and enqueue its processing in the same
    transaction; test-mode events of a live program and types we do not handle are stored as ignored.
    Returns the stored row's id, or None for a repeat."""
    status, note = EventStatus.RECEIVED, None
    if envelope.type == rules.CONNECTION_TEST_TYPE:
        status, note = EventStatus.IGNORED, CONNECTION_TEST_NOTE
    elif rules.ignored_for_mode(envelope.livemode, program.stripe_test_mode):
        status, note = EventStatus.IGNORED, "a test-mode event, and the program does not accept test mode"
    elif envelope.type not in rules.HANDLED_TYPES:
        status, note = EventStatus.IGNORED, f"event type {envelope.type} is not one Partnerloop acts on"
    row_id = repository.insert_event(
        session,
        {
            "program_id": program.id,
            "event_id": envelope.event_id,
            "type": envelope.type[:100],
            "livemode": envelope.livemode,
            "payload": data,
            "status": status.value,
            "error": note,
            "created": envelope.created,
            "received_at": utc_now(),
            "processed_at": utc_now() if status is EventStatus.IGNORED else None,
        },
    )
    if row_id is not None and status is EventStatus.RECEIVED:
        enqueue(session, PROCESS_JOB, {"stripe_event_id": row_id}, program_id=program.id)
    return row_id


# ---------------------------------------------------------------- processing


@dataclass(frozen=True)
class Outcome:
    status: EventStatus
    note: str | None = None
    waiting_for: str | None = None
    wake: tuple[str, ...] = ()  # keys of waiting events this one may unblock


def process_stored_event(session: Session, row_id: str, now: datetime) -> EventStatus | None:
    """Process a received event (job handler); its new status, or None when there was nothing to do.

    A refusal by tracking (a conflict, a missing exchange rate) marks the event failed with the
    reason and rolls back what it started; any other exception propagates, so the job retries.
    """
    row = repository.event_for_job(session, row_id)
    if row is None or row.status != EventStatus.RECEIVED:
        return None
    program = session.get(Program, row.program_id)
    assert program is not None  # events reference their program
    envelope = rules.read_envelope(row.payload)
    if isinstance(envelope, str):
        outcome = Outcome(EventStatus.IGNORED, envelope)
    elif rules.ignored_for_mode(envelope.livemode, program.stripe_test_mode):
        outcome = Outcome(EventStatus.IGNORED, "a test-mode event, and the program does not accept test mode")
    else:
        try:
            with session.begin_nested():
                outcome = _dispatch(session, program, replace(envelope, received_at=as_utc(row.received_at)), now)
        except ValidationError as error:
            outcome = Outcome(EventStatus.IGNORED, f"the Stripe object does not make a valid conversion: {error}")
        except AppError as error:
            outcome = Outcome(EventStatus.FAILED, f"{error.name}: {error.message}")
    row.status = outcome.status.value
    row.error = outcome.note[:2000] if outcome.note else None
    row.waiting_for = outcome.waiting_for
    row.processed_at = now if outcome.status.is_final else None
    if outcome.status is not EventStatus.PROCESSED:
        log.info("stripe event %s (%s): %s: %s", row.event_id, row.type, outcome.status.value, outcome.note)
    for woken in repository.wake_waiting(session, program.id, outcome.wake):
        enqueue(session, PROCESS_JOB, {"stripe_event_id": woken}, program_id=program.id)
    session.flush()
    return outcome.status


def _dispatch(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    handler = _HANDLERS.get(envelope.type)
    if handler is None:
        return Outcome(EventStatus.IGNORED, f"event type {envelope.type} is not one Partnerloop acts on")
    return handler(session, program, envelope, now)


def _external_id(session: Session, program: Program, stripe_customer_id: str | None, obj: dict[str, Any]) -> str | None:
    """Our customer for a Stripe customer: the one its metadata names (linked from then on), else the
    one linked before, else the Stripe customer id itself."""
    named = rules.linked_external_id(obj)
    if stripe_customer_id is None:
        return named
    if named is not None:
        return repository.link_customer(session, program.id, stripe_customer_id, named)
    return repository.linked_customer(session, program.id, stripe_customer_id) or stripe_customer_id


def _coupon_code(session: Session, program: Program, refs: list[PromotionRef]) -> str | None:
    """The partner coupon among the promotion codes (by Stripe id, else by code); else the first code named."""
    for ref in refs:
        coupon = None
        if ref.promotion_code_id is not None:
            coupon = coupon_service.active_coupon_by_promotion_code(session, program.id, ref.promotion_code_id)
        if coupon is None and ref.code is not None:
            coupon = coupon_service.active_coupon_by_code(session, program.id, ref.code)
        if coupon is not None:
            return coupon.code
    return next((ref.code for ref in refs if ref.code is not None), None)


def _known_click(session: Session, program: Program, click_id: str | None) -> str | None:
    return click_id if click_id and track_service.click_exists(session, program.id, click_id) else None


def _checkout_completed(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    obj = envelope.obj
    occurred_at = envelope.created or now
    click_id, note = rules.click_id_of(obj), None
    if click_id is not None and _known_click(session, program, click_id) is None:
        why = rules.without_unknown_click(click_id, now - (envelope.received_at or now))
        if why is None:  # not written yet (the click buffer) or never: retried by retry_click_waits
            hours = int(rules.CLICK_WAIT_LIMIT / timedelta(hours=1))
            text = f"waiting for click {click_id} to be written (retried with backoff for up to {hours} h)"
            return Outcome(EventStatus.WAITING, text, f"click:{click_id}")
        click_id, note = None, f"processed without its click: {why}; the sale is not attributed through it"
    coupon_code = _coupon_code(session, program, rules.promotion_refs(obj))
    sale = rules.checkout_sale(obj)
    external_id = _external_id(session, program, rules.id_of(obj.get("customer")), obj)
    if external_id is None:
        if sale is None:
            return Outcome(EventStatus.IGNORED, "the checkout session names no customer and took no payment")
        external_id = f"stripe_payment:{sale.sale_key}"
    if click_id is not None or coupon_code is not None:
        track_service.attribute_customer(
            session, program, external_id, click_id=click_id, coupon_code=coupon_code, occurred_at=occurred_at
        )
    if sale is None or sale.amount <= 0:
        return Outcome(EventStatus.PROCESSED, note)
    body = SaleIn(
        customer_external_id=external_id,
        amount=sale.amount,
        currency=sale.currency,
        invoice_id=sale.sale_key,
        coupon_code=coupon_code,
        occurred_at=occurred_at,
    )
    track_service.track_sale(session, program, body, now)
    repository.link_payments(session, program.id, [sale.sale_key], sale.sale_key)
    return Outcome(EventStatus.PROCESSED, note, wake=(f"sale:{sale.sale_key}", f"payment:{sale.sale_key}"))


def _invoice_paid(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    obj = envelope.obj
    facts = rules.read_invoice(obj)
    if isinstance(facts, str):
        return Outcome(EventStatus.IGNORED, facts)
    refs = rules.payment_refs(obj)
    repository.link_payments(session, program.id, refs, facts.invoice_id)
    wake = (f"sale:{facts.invoice_id}", *(f"payment:{ref}" for ref in refs))
    if facts.amount <= 0:
        return Outcome(EventStatus.IGNORED, f"invoice {facts.invoice_id} paid nothing (excluding tax)", wake=wake)
    if facts.subscription_id is not None:
        ended_at = repository.subscription_ended_at(session, program.id, facts.subscription_id)
        if rules.earns_nothing_after_end(facts, ended_at, obj.get("billing_reason")):
            note = f"subscription {facts.subscription_id} ended: its later invoices earn no recurring commission"
            return Outcome(EventStatus.IGNORED, note, wake=wake)
    external_id = _external_id(session, program, facts.stripe_customer_id, obj)
    if external_id is None:
        return Outcome(EventStatus.IGNORED, f"invoice {facts.invoice_id} names no customer", wake=wake)
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    body = SaleIn(
        customer_external_id=external_id,
        amount=facts.amount,
        currency=facts.currency,
        invoice_id=facts.invoice_id,
        product_id=facts.product_id or facts.price_id,
        coupon_code=_coupon_code(session, program, rules.promotion_refs(obj)),
        click_id=_known_click(session, program, rules.click_id_of({"metadata": metadata})),
        occurred_at=facts.paid_at or envelope.created or now,
    )
    track_service.track_sale(session, program, body, now)
    if facts.stripe_customer_id:  # a referral program may make each customer an advocate on their first paid invoice
        referral_service.advocate_from_stripe(
            session, program, external_id=external_id, stripe_customer_id=facts.stripe_customer_id,
            email=obj.get("customer_email"), name=obj.get("customer_name"), moment="invoice.paid",
        )  # fmt: skip
    return Outcome(EventStatus.PROCESSED, wake=wake)


def _invoice_payment_paid(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    """An invoice payment (API 2025+) names the payment intent and charge of an invoice: refunds and
    disputes find their sale through it."""
    invoice_id = rules.id_of(envelope.obj.get("invoice"))
    refs = rules.payment_refs(envelope.obj)
    if invoice_id is None or not refs:
        return Outcome(EventStatus.IGNORED, "the invoice payment names no invoice or payment")
    repository.link_payments(session, program.id, refs, invoice_id)
    return Outcome(EventStatus.PROCESSED, wake=tuple(f"payment:{ref}" for ref in refs))


def _sale_of_payment(
    session: Session, program: Program, refs: list[str], invoice_hint: str | None
) -> tuple[str | None, Outcome | None]:
    """The invoice id of the sale a payment paid, or the waiting outcome when it is not known yet."""
    invoice_id = invoice_hint or repository.invoice_of_payment(session, program.id, refs)
    if invoice_id is None:
        return None, Outcome(EventStatus.WAITING, "waiting for the invoice this payment paid", f"payment:{refs[0]}")
    if track_service.sale_of_invoice(session, program.id, invoice_id) is None:
        return None, Outcome(EventStatus.WAITING, f"waiting for the sale of invoice {invoice_id}", f"sale:{invoice_id}")
    return invoice_id, None


def _charge_refunded(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    charge = rules.read_charge(envelope.obj)
    if isinstance(charge, str):
        return Outcome(EventStatus.IGNORED, charge)
    refs = [ref for ref in (charge.payment_intent_id, charge.charge_id) if ref]
    invoice_id, waiting = _sale_of_payment(session, program, refs, charge.invoice_id)
    if waiting is not None or invoice_id is None:
        return waiting or Outcome(EventStatus.IGNORED)
    sale = track_service.sale_of_invoice(session, program.id, invoice_id, lock=True)
    assert sale is not None  # _sale_of_payment found it
    refunded = track_service.refunded_total(session, sale.id)
    for refund in rules.refunds_in_sale_terms(envelope.obj, charge.amount, sale.amount or 0, refunded):
        body = RefundIn(
            invoice_id=invoice_id,
            amount=refund.amount,
            currency=sale.currency,
            refund_id=refund.refund_key,
            occurred_at=envelope.created or now,
        )
        track_service.track_refund(session, program, body, now)
    return Outcome(EventStatus.PROCESSED)


def _hold_sale(session: Session, program: Program, sale_id: str) -> dict[str, Any]:
    """Put the sale's owed, unpaid commissions on hold; their statuses before, by id."""
    held: dict[str, Any] = {}
    for commission in commission_service.commissions_of_event(session, sale_id):
        if commission.kind != CommissionKind.SALE or commission.event_id != sale_id:
            continue
        if commission.status in (CommissionStatus.PENDING, CommissionStatus.APPROVED):
            held[commission.id] = commission.status
            commission_service.change_status(session, program, commission.id, "hold", actor=ACTOR)
    return held


def _release(session: Session, program: Program, dispute: StripeDispute) -> None:
    """Commissions a dispute held go back to the status they had (still on hold: a person may have acted)."""
    for commission_id, before in (dispute.held or {}).items():
        commission_service.end_dispute_hold(session, program, commission_id, CommissionStatus(before), actor=ACTOR)
    dispute.held = {}


def _dispute(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    facts = rules.read_dispute(envelope.obj)
    if isinstance(facts, str):
        return Outcome(EventStatus.IGNORED, facts)
    refs = [ref for ref in (facts.payment_intent_id, facts.charge_id) if ref]
    invoice_id, waiting = _sale_of_payment(session, program, refs, None)
    if waiting is not None or invoice_id is None:
        return waiting or Outcome(EventStatus.IGNORED)
    sale = track_service.sale_of_invoice(session, program.id, invoice_id, lock=True)
    assert sale is not None
    opening = envelope.type == "charge.dispute.created"
    dispute, created = repository.dispute_for(
        session, program.id, facts.dispute_id, invoice_id, "open" if opening else facts.status
    )
    if opening:
        if not created:  # a repeat, or it closed before we heard it open: nothing to hold
            return Outcome(EventStatus.PROCESSED, f"dispute {facts.dispute_id} is known already ({dispute.status})")
        dispute.held = _hold_sale(session, program, sale.id)
        return Outcome(EventStatus.PROCESSED)
    if not created and dispute.status != "open":
        return Outcome(EventStatus.PROCESSED, f"dispute {facts.dispute_id} was closed already ({dispute.status})")
    _release(session, program, dispute)
    dispute.status = facts.status
    dispute.closed_at = now
    if rules.dispute_released(facts.status):
        return Outcome(EventStatus.PROCESSED)
    if track_service.refunded_total(session, sale.id) < (sale.amount or 0):
        body = RefundIn(
            invoice_id=invoice_id, refund_id=f"dispute:{facts.dispute_id}", occurred_at=envelope.created or now
        )
        track_service.track_refund(session, program, body, now)  # lost: the rest of the sale is gone
    return Outcome(EventStatus.PROCESSED)


def _card_seen(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    """A charge or payment intent that succeeded: remember its card (hashed) against the customer and the
    payer's email, and have the customer's conversions screened again when the card is new for them (the
    charge often arrives after the invoice whose sale was screened without it)."""
    card = rules.card_payment(envelope.obj)
    if card is None:
        return Outcome(EventStatus.IGNORED, "the payment shows no card fingerprint")
    intent = next((ref for ref in card.payment_refs if ref.startswith("pi_")), None)
    external_id = None  # a guest's one-time Checkout payment is the customer "stripe_payment:<intent>"
    if card.stripe_customer_id is not None:
        external_id = _external_id(session, program, card.stripe_customer_id, {})
    elif intent is not None:
        external_id = f"stripe_payment:{intent}"
    email_hash = email_key(card.email) if card.email else None
    if external_id is None and email_hash is None:
        return Outcome(EventStatus.IGNORED, "the card payment names no customer, known payment or email")
    fingerprint_hash = hashlib.sha256(card.fingerprint.encode()).hexdigest()
    ref = card.payment_refs[0] if card.payment_refs else None
    new = repository.record_card(
        session, program.id, fingerprint_hash, external_id=external_id, email_hash=email_hash, payment_ref=ref
    )
    if new and external_id is not None:
        screens.customer_facts_changed(session, program, external_id)
    return Outcome(EventStatus.PROCESSED)


def _subscription_deleted(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    obj = envelope.obj
    subscription_id = rules.id_of(obj)
    if subscription_id is None:
        return Outcome(EventStatus.IGNORED, "the subscription has no id")
    ended_at = rules.epoch(obj.get("ended_at")) or rules.epoch(obj.get("canceled_at")) or envelope.created or now
    repository.end_subscription(session, program.id, subscription_id, ended_at)
    return Outcome(EventStatus.PROCESSED)


def _customer_changed(session: Session, program: Program, envelope: Envelope, now: datetime) -> Outcome:
    """A Stripe customer's metadata: the link to our customer, a click to attribute, facts for conditions."""
    obj = envelope.obj
    stripe_customer_id = rules.id_of(obj)
    if stripe_customer_id is None:
        return Outcome(EventStatus.IGNORED, "the customer has no id")
    external_id = _external_id(session, program, stripe_customer_id, obj)
    assert external_id is not None  # the Stripe id is the fallback
    click_id = rules.click_id_of({"metadata": obj.get("metadata")})
    if click_id is not None and _known_click(session, program, click_id) is not None:
        track_service.attribute_customer(
            session, program, external_id, click_id=click_id, coupon_code=None, occurred_at=envelope.created or now
        )
    if envelope.type == "customer.created":  # a referral program may make every new customer an advocate
        referral_service.advocate_from_stripe(
            session, program, external_id=external_id, stripe_customer_id=stripe_customer_id,
            email=obj.get("email"), name=obj.get("name"),
        )  # fmt: skip
    raw = obj.get("metadata")
    metadata: dict[str, Any] = raw if isinstance(raw, dict) else {}
    facts = {key: value for key, value in metadata.items() if isinstance(value, str) and len(value) <= 500}
    if facts:
        customer = track_service.customer_for(session, program.id, external_id)
        merged = {**(customer.metadata_ or {}), **facts}
        customer.metadata_ = dict(list(merged.items())[:MAX_METADATA_KEYS])
    return Outcome(EventStatus.PROCESSED)


_HANDLERS = {
    "checkout.session.completed": _checkout_completed,
    "customer.created": _customer_changed,
    "customer.updated": _customer_changed,
    "invoice.paid": _invoice_paid,
    "invoice.payment_succeeded": _invoice_paid,
    "invoice_payment.paid": _invoice_payment_paid,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute,
    "charge.dispute.closed": _dispute,
    "customer.subscription.deleted": _subscription_deleted,
    "charge.succeeded": _card_seen,
    "payment_intent.succeeded": _card_seen,
}


def retry_click_waits(session: Session, now: datetime) -> list[str]:
    """Put events waiting for a click back in the queue when their next retry point has come (see
    rules.click_retry_round: each round once, so the tries back off); returns their row ids.

    Periodic rather than woken by the click's arrival: clicks are written in batches by the click
    writer, which knows nothing of Stripe. The job of a round is enqueued before the row is woken,
    so a round already tried (its unique key taken) leaves the row waiting.
    """
    retried = []
    for row_id, program_id, received_at in repository.click_waits(session):
        round_ = rules.click_retry_round(now - as_utc(received_at))
        if round_ == 0:
            continue
        key = f"{PROCESS_JOB}:click-retry:{row_id}:{round_}"
        if enqueue(session, PROCESS_JOB, {"stripe_event_id": row_id}, program_id=program_id, unique_key=key) is None:
            continue
        if repository.wake_event(session, row_id):
            retried.append(row_id)
    session.flush()
    return retried


# ---------------------------------------------------------------- manager


def get_event(session: Session, program: Program, row_id: str) -> StripeEvent:
    row = repository.get_event(session, program.id, row_id, lock=True)
    if row is None:
        raise StripeEventNotFound(f"No Stripe event {row_id} in this program.")
    return row


def replay(session: Session, program: Program, row_id: str) -> StripeEvent:
    """Process a stored event again (tracking's business keys make it change only what is missing)."""
    row = get_event(session, program, row_id)
    row.status = EventStatus.RECEIVED.value
    row.error = row.waiting_for = None
    row.processed_at = None
    enqueue(session, PROCESS_JOB, {"stripe_event_id": row.id}, program_id=program.id)
    session.flush()
    return row
