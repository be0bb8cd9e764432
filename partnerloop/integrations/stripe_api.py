"""Calls to Stripe's API through the official library, with the program's secret key (outbound:
the inbound webhooks are `integrations/stripe/`; coupons call this).

STRIPE_API_BASE (settings.stripe_api_base) points the library elsewhere: tests use a loopback server.
"""

from __future__ import annotations

import functools
import logging

import stripe

from partnerloop.config import Settings
from partnerloop.kit.errors import AppError, InvalidInput
from partnerloop.models import Program
from partnerloop.program.stripe_secrets import stripe_secret_key

log = logging.getLogger("partnerloop.stripe")


class StripeNotConnected(InvalidInput):
    pass


class StripeRequestFailed(AppError):
    status_code = 502


def _client(program: Program, settings: Settings) -> stripe.StripeClient:
    secret_key = stripe_secret_key(program, settings)
    if not secret_key:
        raise StripeNotConnected(
            'The program has no Stripe secret key: set it with PATCH /api/v1/program {"stripe_secret_key": ...}.'
        )
    return _client_for(secret_key, settings.stripe_api_base)


@functools.lru_cache(maxsize=64)
def _client_for(secret_key: str, api_base: str | None) -> stripe.StripeClient:
    """One client per key (and API base), so its HTTP connections are reused from call to call."""
    if api_base:
        return stripe.StripeClient(secret_key, base_addresses={"api": api_base})
    return stripe.StripeClient(secret_key)


def _failed(action: str, error: stripe.StripeError) -> StripeRequestFailed:
    message = error.user_message or str(error) or type(error).__name__
    log.warning("stripe: %s failed: %s", action, message)
    return StripeRequestFailed(f"Stripe refused to {action}: {message}")


def create_promotion_code(
    program: Program, settings: Settings, *, code: str, coupon_id: str, metadata: dict[str, str], idempotency_key: str
) -> str:
    """Create a promotion code `code` for the Stripe coupon `coupon_id`; return its id (promo_…)."""
    client = _client(program, settings)
    try:
        created = client.v1.promotion_codes.create(
            params={"code": code, "promotion": {"type": "coupon", "coupon": coupon_id}, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise _failed(f"create promotion code {code}", error)
    return str(created.id)


def deactivate_promotion_code(program: Program, settings: Settings, promotion_code_id: str) -> None:
    """Make the promotion code unusable at checkout (Stripe never deletes one)."""
    client = _client(program, settings)
    try:
        client.v1.promotion_codes.update(promotion_code_id, params={"active": False})
    except stripe.StripeError as error:
        raise _failed(f"deactivate promotion code {promotion_code_id}", error)


# ---------------------------------------------------------------- referral rewards


class StripeCallFailed(Exception):
    """A reward's Stripe call failed: `http_status` is None when Stripe did not answer at all."""

    def __init__(self, message: str, http_status: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


def _call_failed(action: str, error: stripe.StripeError) -> StripeCallFailed:
    message = error.user_message or str(error) or type(error).__name__
    log.warning("stripe: %s failed: %s", action, message)
    status = None if isinstance(error, stripe.APIConnectionError) else error.http_status
    return StripeCallFailed(f"Stripe refused to {action}: {message}", status)


def credit_customer_balance(
    program: Program,
    settings: Settings,
    *,
    customer_id: str,
    amount: int,
    currency: str,
    description: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> str:
    """A customer balance transaction crediting `amount` (sent negative: a credit, applied to the
    customer's next invoices); returns its id (cbtxn_…)."""
    client = _client(program, settings)
    try:
        created = client.v1.customers.balance_transactions.create(
            customer_id,
            params={"amount": -amount, "currency": currency, "description": description, "metadata": metadata},
            options={"idempotency_key": idempotency_key},
        )
    except stripe.StripeError as error:
        raise _call_failed(f"credit customer {customer_id}", error)
    return str(created.id)


def create_discount_code(
    program: Program,
    settings: Settings,
    *,
    code: str,
    percent: int | None,
    amount: int | None,
    currency: str,
    duration_months: int | None,
    customer_id: str | None,
    first_time_only: bool,
    name: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> tuple[str, str]:
    """A single-use coupon (`percent` or `amount` off, once or for `duration_months`) and its promotion
    code `code` (restricted to `customer_id` and/or first-time purchases); returns (coupon id, promo id)."""
    client = _client(program, settings)
    coupon: dict[str, object] = {"name": name[:40], "metadata": metadata}
    if percent is not None:
        coupon["percent_off"] = percent
    else:
        coupon["amount_off"] = amount
        coupon["currency"] = currency
    if duration_months is None:
        coupon["duration"] = "once"
    else:
        coupon["duration"] = "repeating"
        coupon["duration_in_months"] = duration_months
    promotion: dict[str, object] = {"code": code, "max_redemptions": 1, "metadata": metadata}
    if customer_id is not None:
        promotion["customer"] = customer_id
    if first_time_only:
        promotion["restrictions"] = {"first_time_transaction": True}
    try:
        created = client.v1.coupons.create(
            params=coupon,  # type: ignore[arg-type]
            options={"idempotency_key": f"{idempotency_key}-coupon"},
        )
        promotion["promotion"] = {"type": "coupon", "coupon": str(created.id)}
        promo = client.v1.promotion_codes.create(
            params=promotion,  # type: ignore[arg-type]
            options={"idempotency_key": f"{idempotency_key}-promotion-code"},
        )
    except stripe.StripeError as error:
        raise _call_failed(f"create promotion code {code}", error)
    return str(created.id), str(promo.id)
