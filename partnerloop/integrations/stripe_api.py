"""Calls to Stripe's API through the official library, with the program's secret key (outbound:
the inbound webhooks are `integrations/stripe/`; coupons call this).

STRIPE_API_BASE (settings.stripe_api_base) points the library elsewhere: tests use a loopback server.
"""

from __future__ import annotations

import logging

import stripe

from partnerloop.config import Settings
from partnerloop.kit.errors import AppError, InvalidInput
from partnerloop.models import Program

log = logging.getLogger("partnerloop.stripe")


class StripeNotConnected(InvalidInput):
    pass


class StripeRequestFailed(AppError):
    status_code = 502


def _client(program: Program, settings: Settings) -> stripe.StripeClient:
    if not program.stripe_secret_key:
        raise StripeNotConnected(
            'The program has no Stripe secret key: set it with PATCH /api/v1/program {"stripe_secret_key": ...}.'
        )
    if settings.stripe_api_base:
        return stripe.StripeClient(program.stripe_secret_key, base_addresses={"api": settings.stripe_api_base})
    return stripe.StripeClient(program.stripe_secret_key)


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
