"""Reading Stripe objects (pure): plain dicts in, plain facts (or a sentence saying what is wrong) out.

Stripe's shapes differ by API version; each reader accepts the current one (2025+: invoice
`parent.subscription_details`, line `pricing.price_details`, invoice payments) and the older one
(`invoice.subscription`, `line.price`, `charge.invoice`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from partnerloop.kit.money import prorate


class EventStatus(StrEnum):
    RECEIVED = "received"  # stored, a job will process it
    WAITING = "waiting"  # refers to an object not seen yet (waiting_for); processed when it arrives
    PROCESSED = "processed"
    IGNORED = "ignored"  # nothing to do (unknown type, test mode, nothing paid, …); error says why
    FAILED = "failed"  # refused by tracking (a conflict, no exchange rate, …); error says why; replayable

    @property
    def is_final(self) -> bool:
        return self in (EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.FAILED)


def signature_timestamp(signature_header: str) -> int | None:
    """The `t=` of a Stripe-Signature header (`t=…,v1=…`), or None when it has none that is a number."""
    for item in signature_header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            return int(value) if value.isdigit() else None
    return None


def is_signed_in_the_future(signed_at: int, now: float, tolerance_seconds: int) -> bool:
    """True when the signature claims a time further ahead than the clock skew we accept: the stripe
    library's tolerance bounds only the past, and a timestamp far ahead would keep a replay fresh."""
    return signed_at > now + tolerance_seconds


# The event the manager's Stripe page signs with the saved secret and stores like Stripe's: never processed.
CONNECTION_TEST_TYPE = "partnerloop.connection_test"
_SECRET_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_", "rk_live_")


def webhook_secret_problem(secret: str) -> str | None:
    """Why `secret` cannot be a Stripe endpoint's signing secret (`whsec_…`), or None."""
    if not secret.startswith("whsec_") or len(secret) < 16 or any(char.isspace() for char in secret):
        return "The signing secret starts with whsec_: copy it from the endpoint's page in Stripe (Reveal)."
    return None


def secret_key_problem(key: str) -> str | None:
    """Why `key` cannot be a Stripe secret or restricted API key (`sk_…` / `rk_…`), or None."""
    if key.startswith("pk_"):
        return "That is a publishable key (pk_…): Partnerloop needs the secret key (sk_…) or a restricted key (rk_…)."
    if not key.startswith(_SECRET_KEY_PREFIXES) or len(key) < 20 or any(char.isspace() for char in key):
        return "A Stripe secret key starts with sk_test_, sk_live_, rk_test_ or rk_live_."
    return None


HANDLED_TYPES = frozenset(
    {
        "checkout.session.completed",
        "customer.created",
        "customer.updated",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice_payment.paid",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
        "customer.subscription.deleted",
        "charge.succeeded",
        "payment_intent.succeeded",
    }
)
LINK_KEYS = ("partnerloop_customer", "customer_external_id")  # metadata naming our customer
CLICK_KEYS = ("pl_cid",)
COUPON_KEYS = ("pl_coupon", "coupon_code")
RELEASED_DISPUTE = frozenset({"won", "warning_closed"})
MAX_TEXT = 200
# A click is written within a second of its redirect; one still missing a day after the checkout was lost.
CLICK_WAIT_LIMIT = timedelta(hours=24)
CLICK_RETRY_FIRST = timedelta(seconds=30)  # then each gap doubles, up to CLICK_RETRY_MAX_GAP
CLICK_RETRY_MAX_GAP = timedelta(hours=1)
_CLICK_ID_CHARACTERS = frozenset("0123456789abcdefghjkmnpqrstvwxyz")  # ULIDs as kit/ids mints them


@dataclass(frozen=True)
class Envelope:
    event_id: str
    type: str
    livemode: bool
    created: datetime | None
    obj: dict[str, Any]
    received_at: datetime | None = None  # when we stored it (set by the service once stored)


def _text(value: object) -> str | None:
    """A usable id or code: a non-empty string of at most 200 characters."""
    if isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT:
        return value.strip()
    return None


def id_of(value: object) -> str | None:
    """An id given as a string, or an expanded object's id."""
    if isinstance(value, Mapping):
        return _text(value.get("id"))
    return _text(value)


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def epoch(value: object) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def read_envelope(data: object) -> Envelope | str:
    """The parts of an event every handler needs, or why the payload is not an event."""
    if not isinstance(data, Mapping):
        return "the payload is not a JSON object"
    event_id, kind = _text(data.get("id")), _text(data.get("type"))
    if event_id is None or kind is None:
        return "the event has no id or type"
    inner = data.get("data")
    obj = inner.get("object") if isinstance(inner, Mapping) else None
    if not isinstance(obj, dict):
        return "the event has no data.object"
    return Envelope(event_id, kind, data.get("livemode") is True, epoch(data.get("created")), obj)


def ignored_for_mode(livemode: bool, program_test_mode: bool) -> bool:
    """A test-mode event only counts for a program that accepts test mode."""
    return not livemode and not program_test_mode


def click_id_of(obj: Mapping[str, Any]) -> str | None:
    """The click id a checkout carries: `client_reference_id`, else `metadata.pl_cid`."""
    found = _text(obj.get("client_reference_id"))
    if found is not None:
        return found
    for key in CLICK_KEYS:
        found = _text(_metadata(obj).get(key))
        if found is not None:
            return found
    return None


def looks_like_click_id(value: str) -> bool:
    """Whether `value` can be a click id of ours: lower-case Crockford base32, 26 characters (a ULID, ids made
    before signed ones) or 64 (a signed id, tracking/click_ids.py)."""
    return len(value) in (26, 64) and set(value) <= _CLICK_ID_CHARACTERS


def click_retry_round(waited: timedelta) -> int:
    """How many retry points an event waiting for a click has passed, `waited` after it arrived.

    The points are 30 s, 1, 2, 4 … min (each gap doubling up to an hour), then hourly, and the
    24 h limit itself; 0 before the first. Each round is tried once, so this is the backoff.
    """
    if waited >= CLICK_WAIT_LIMIT:
        rounds, point = 1, CLICK_RETRY_FIRST
        while point < CLICK_WAIT_LIMIT:
            rounds, point = rounds + 1, point + min(point, CLICK_RETRY_MAX_GAP)
        return rounds
    rounds, point = 0, CLICK_RETRY_FIRST
    while point <= waited:
        rounds, point = rounds + 1, point + min(point, CLICK_RETRY_MAX_GAP)
    return rounds


def without_unknown_click(click_id: str, waited: timedelta) -> str | None:
    """Why a checkout naming a click we do not have goes on without it; None while it should wait
    for the click (written moments after its redirect, or still in a buffer)."""
    if not looks_like_click_id(click_id):
        return f"client_reference_id / pl_cid {click_id} is not a Partnerloop click id"
    if waited >= CLICK_WAIT_LIMIT:
        hours = int(CLICK_WAIT_LIMIT / timedelta(hours=1))
        return f"click {click_id} was not found within {hours} h of the checkout (lost before it was written)"
    return None


def linked_external_id(obj: Mapping[str, Any]) -> str | None:
    """Our customer's external id when the Stripe object's metadata names it."""
    for key in LINK_KEYS:
        found = _text(_metadata(obj).get(key))
        if found is not None:
            return found
    return None


@dataclass(frozen=True)
class PromotionRef:
    """A promotion code applied at Stripe: its id (promo_…) and, when expanded or named, its code."""

    promotion_code_id: str | None
    code: str | None


def _discount_ref(discount: object) -> PromotionRef | None:
    if not isinstance(discount, Mapping):
        return None  # a bare discount id (di_…) names no promotion code
    promo = discount.get("promotion_code")
    code = _text(promo.get("code")) if isinstance(promo, Mapping) else None
    promo_id = id_of(promo)
    if promo_id is None and code is None:
        return None
    return PromotionRef(promo_id, code)


def promotion_refs(obj: Mapping[str, Any]) -> list[PromotionRef]:
    """Promotion codes on an invoice, its lines or a checkout session, and codes named in metadata."""
    found: list[PromotionRef] = []
    discounts = obj.get("discounts")
    candidates: list[object] = list(discounts) if isinstance(discounts, list) else []
    candidates.append(obj.get("discount"))  # before 2022-08: one discount
    lines = obj.get("lines")
    line_items = lines.get("data") if isinstance(lines, Mapping) else None
    for line in line_items if isinstance(line_items, list) else []:
        if isinstance(line, Mapping) and isinstance(line.get("discounts"), list):
            candidates += line["discounts"]
    for candidate in candidates:
        ref = _discount_ref(candidate)
        if ref is not None and ref not in found:
            found.append(ref)
    for key in COUPON_KEYS:
        code = _text(_metadata(obj).get(key))
        if code is not None:
            found.append(PromotionRef(None, code))
    return found


def subscription_of(invoice: Mapping[str, Any]) -> str | None:
    found = id_of(invoice.get("subscription"))
    if found is not None:
        return found
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, Mapping) else None
    return id_of(details.get("subscription")) if isinstance(details, Mapping) else None


def _line_ids(line: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(product id, price id) of an invoice line."""
    price = line.get("price")
    if isinstance(price, Mapping):
        return id_of(price.get("product")), id_of(price)
    pricing = line.get("pricing")
    details = pricing.get("price_details") if isinstance(pricing, Mapping) else None
    if isinstance(details, Mapping):
        return id_of(details.get("product")), id_of(details.get("price"))
    plan = line.get("plan")
    if isinstance(plan, Mapping):
        return id_of(plan.get("product")), id_of(plan)
    return None, None


def payment_refs(obj: Mapping[str, Any]) -> list[str]:
    """Payment intent and charge ids an invoice (or an invoice payment) names."""
    refs = [id_of(obj.get("payment_intent")), id_of(obj.get("charge"))]
    payment = obj.get("payment")  # an invoice_payment
    if isinstance(payment, Mapping):
        refs += [id_of(payment.get("payment_intent")), id_of(payment.get("charge"))]
    payments = obj.get("payments")
    data = payments.get("data") if isinstance(payments, Mapping) else None
    for item in data if isinstance(data, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("payment"), Mapping):
            refs += [id_of(item["payment"].get("payment_intent")), id_of(item["payment"].get("charge"))]
    return sorted({ref for ref in refs if ref is not None})


@dataclass(frozen=True)
class InvoiceSale:
    invoice_id: str
    stripe_customer_id: str | None
    amount: int  # paid, tax excluded, minor units
    currency: str
    product_id: str | None
    price_id: str | None
    subscription_id: str | None
    sale_type: str  # new | recurring
    paid_at: datetime | None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def amount_excluding_tax(invoice: Mapping[str, Any]) -> int | None:
    """What was paid without tax: `total_excluding_tax`, else `total` less its taxes, else the subtotal."""
    found = _int(invoice.get("total_excluding_tax"))
    if found is not None:
        return found
    total = _int(invoice.get("total"))
    if total is not None:
        taxes = invoice.get("total_taxes")
        tax = _int(invoice.get("tax")) or 0
        if isinstance(taxes, list):
            tax = sum(_int(item.get("amount")) or 0 for item in taxes if isinstance(item, Mapping))
        return total - tax
    return _int(invoice.get("subtotal_excluding_tax"))


def read_invoice(invoice: Mapping[str, Any]) -> InvoiceSale | str:
    """The sale an invoice stands for, or why it cannot be one."""
    invoice_id, currency = _text(invoice.get("id")), _text(invoice.get("currency"))
    amount = amount_excluding_tax(invoice)
    if invoice_id is None or currency is None or amount is None:
        return "the invoice lacks its id, currency or amounts"
    product_id = price_id = None
    lines = invoice.get("lines")
    line_items = lines.get("data") if isinstance(lines, Mapping) else None
    for line in line_items if isinstance(line_items, list) else []:
        if isinstance(line, Mapping):
            product_id, price_id = _line_ids(line)
            if product_id or price_id:
                break
    transitions = invoice.get("status_transitions")
    paid_at = epoch(transitions.get("paid_at")) if isinstance(transitions, Mapping) else None
    recurring = invoice.get("billing_reason") == "subscription_cycle"
    return InvoiceSale(
        invoice_id=invoice_id,
        stripe_customer_id=id_of(invoice.get("customer")),
        amount=amount,
        currency=currency.lower(),
        product_id=product_id,
        price_id=price_id,
        subscription_id=subscription_of(invoice),
        sale_type="recurring" if recurring else "new",
        paid_at=paid_at,
    )


def earns_nothing_after_end(sale: InvoiceSale, ended_at: datetime | None, billing_reason: object) -> bool:
    """An invoice of a subscription that ended: no more recurring sales (a final one-off still counts)."""
    return ended_at is not None and (billing_reason == "subscription_cycle" or sale.sale_type == "recurring")


@dataclass(frozen=True)
class ChargeFacts:
    charge_id: str
    payment_intent_id: str | None
    invoice_id: str | None  # before 2025 charges name their invoice
    amount: int
    currency: str


def read_charge(charge: Mapping[str, Any]) -> ChargeFacts | str:
    charge_id, currency, amount = _text(charge.get("id")), _text(charge.get("currency")), _int(charge.get("amount"))
    if charge_id is None or currency is None or amount is None or amount <= 0:
        return "the charge lacks its id, currency or amount"
    return ChargeFacts(
        charge_id, id_of(charge.get("payment_intent")), id_of(charge.get("invoice")), amount, currency.lower()
    )


@dataclass(frozen=True)
class SaleRefund:
    refund_key: str  # Stripe's refund id, or the charge's cumulative refunded amount when refunds are not listed
    amount: int  # in the sale's terms (the sale excludes tax: refunds shrink in proportion)


def refunds_in_sale_terms(
    charge: Mapping[str, Any], charge_amount: int, sale_amount: int, refunded_on_sale: int
) -> list[SaleRefund]:
    """The charge's refunds as refunds of the sale: each cumulative refunded share of the charge,
    rounded once, so that a full refund of the charge refunds exactly the sale.

    Listed refunds (`refunds.data`) keep their ids; without a list, `amount_refunded` less what
    the sale has refunded already is one refund keyed by that cumulative amount.
    """
    listed = charge.get("refunds")
    data = listed.get("data") if isinstance(listed, Mapping) else None
    items = [
        item
        for item in (data if isinstance(data, list) else [])
        if isinstance(item, Mapping)
        and _text(item.get("id"))
        and (_int(item.get("amount")) or 0) > 0
        and item.get("status") not in ("failed", "canceled")
    ]
    refunded = _int(charge.get("amount_refunded")) or 0
    if items and sum(int(item["amount"]) for item in items) >= refunded:
        items.sort(key=lambda item: (_int(item.get("created")) or 0, str(item["id"])))
        result, cumulative, before = [], 0, 0
        for item in items:
            cumulative = min(cumulative + int(item["amount"]), charge_amount)
            share = prorate(sale_amount, cumulative, charge_amount)
            result.append(SaleRefund(str(item["id"]), share - before))
            before = share
        return [refund for refund in result if refund.amount > 0]
    share = prorate(sale_amount, min(refunded, charge_amount), charge_amount) - refunded_on_sale
    charge_id = str(charge.get("id"))
    return [SaleRefund(f"{charge_id}:refunded:{refunded}", share)] if share > 0 else []


@dataclass(frozen=True)
class DisputeFacts:
    dispute_id: str
    charge_id: str | None
    payment_intent_id: str | None
    amount: int
    status: str


def read_dispute(dispute: Mapping[str, Any]) -> DisputeFacts | str:
    dispute_id, status = _text(dispute.get("id")), _text(dispute.get("status"))
    charge_id, intent_id = id_of(dispute.get("charge")), id_of(dispute.get("payment_intent"))
    if dispute_id is None or status is None or (charge_id is None and intent_id is None):
        return "the dispute lacks its id, status or charge"
    return DisputeFacts(dispute_id, charge_id, intent_id, _int(dispute.get("amount")) or 0, status)


def dispute_released(status: str) -> bool:
    """A closed dispute the merchant won (or an inquiry closed without a chargeback) releases the hold."""
    return status in RELEASED_DISPUTE


@dataclass(frozen=True)
class CheckoutSale:
    """A one-time payment made in Checkout without an invoice: the sale is the payment itself."""

    sale_key: str
    amount: int
    currency: str


def checkout_sale(checkout: Mapping[str, Any]) -> CheckoutSale | None:
    if checkout.get("mode") != "payment" or id_of(checkout.get("invoice")) is not None:
        return None  # subscriptions and invoiced payments arrive as invoice.paid
    if checkout.get("payment_status") != "paid":
        return None
    key = id_of(checkout.get("payment_intent")) or _text(checkout.get("id"))
    total, currency = _int(checkout.get("amount_total")), _text(checkout.get("currency"))
    if key is None or total is None or currency is None:
        return None
    details = checkout.get("total_details")
    tax = (_int(details.get("amount_tax")) or 0) if isinstance(details, Mapping) else 0
    return CheckoutSale(key, total - tax, currency.lower())


@dataclass(frozen=True)
class CardPayment:
    """A payment by card: Stripe's card fingerprint (the same card gives the same one across customers of
    the account), the Stripe customer and email that paid, and the payment's ids."""

    fingerprint: str
    stripe_customer_id: str | None
    email: str | None
    payment_refs: tuple[str, ...]  # the charge id and its payment intent's, as far as given


def _card_fingerprint(payment_method_details: object) -> str | None:
    if not isinstance(payment_method_details, Mapping):
        return None
    card = payment_method_details.get("card") or payment_method_details.get("card_present")
    return _text(card.get("fingerprint")) if isinstance(card, Mapping) else None


def _email_of(obj: Mapping[str, Any]) -> str | None:
    billing = obj.get("billing_details")
    email = billing.get("email") if isinstance(billing, Mapping) else None
    found = _text(email) or _text(obj.get("receipt_email"))
    return found if found is not None and "@" in found else None


def _charge_card(charge: Mapping[str, Any]) -> CardPayment | None:
    fingerprint = _card_fingerprint(charge.get("payment_method_details"))
    if fingerprint is None:
        return None
    refs = tuple(ref for ref in (_text(charge.get("id")), id_of(charge.get("payment_intent"))) if ref)
    return CardPayment(fingerprint, id_of(charge.get("customer")), _email_of(charge), refs)


def card_payment(obj: Mapping[str, Any]) -> CardPayment | None:
    """The card that paid a charge or a payment intent (its latest charge when expanded, its `charges`
    list in API versions before 2022-11, or its expanded payment method); None when no card shows."""
    if obj.get("object") != "payment_intent":
        return _charge_card(obj)
    intent_id, customer = _text(obj.get("id")), id_of(obj.get("customer"))
    charges: list[Any] = [obj.get("latest_charge")]
    listed = obj.get("charges")
    if isinstance(listed, Mapping) and isinstance(listed.get("data"), list):
        charges += listed["data"]
    for charge in charges:
        if isinstance(charge, Mapping) and (found := _charge_card(charge)) is not None:
            refs = tuple(dict.fromkeys([*found.payment_refs, *([intent_id] if intent_id else [])]))
            return CardPayment(found.fingerprint, found.stripe_customer_id or customer,
                               found.email or _email_of(obj), refs)  # fmt: skip
    method = obj.get("payment_method")
    card = method.get("card") if isinstance(method, Mapping) else None
    fingerprint = _text(card.get("fingerprint")) if isinstance(card, Mapping) else None
    if fingerprint is None or not isinstance(method, Mapping):
        return None
    email = _email_of(method) or _email_of(obj)
    return CardPayment(fingerprint, customer or id_of(method.get("customer")), email, (intent_id,) if intent_id else ())
