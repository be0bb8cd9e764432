"""Stripe Connect transfers through the `stripe` library, one per payout, with the idempotency key
`payout-<payout id>` (Stripe replays the first answer for 24 h when the same key comes again)."""

from __future__ import annotations

from dataclasses import dataclass

import stripe

from partnerloop.config import Settings


class StripeRetryable(Exception):
    """Network trouble, 5xx, 429 or an idempotency conflict in flight: try again with the same key."""


class StripeRejected(Exception):
    """Stripe refused the transfer for good (bad account, insufficient balance, currency): it failed."""


@dataclass(frozen=True)
class Transfer:
    id: str


def idempotency_key(payout_id: str) -> str:
    return f"payout-{payout_id}"


def create_transfer(
    settings: Settings, api_key: str, *, payout_id: str, amount: int, currency: str, destination: str, group: str
) -> Transfer:
    """Move `amount` minor units to the connected account; the Transfer, or StripeRetryable / StripeRejected."""
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=0)  # type: ignore[arg-type]
    try:
        transfer = client.v1.transfers.create(
            params={
                "amount": amount,
                "currency": currency,
                "destination": destination,
                "transfer_group": group,
                "metadata": {"payout_id": payout_id},
            },
            options={"idempotency_key": idempotency_key(payout_id)},
        )
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeRetryable(f"Stripe: {error}") from error
    except stripe.StripeError as error:
        status = error.http_status or 0
        if status >= 500 or status in (409, 429) or status == 0:
            raise StripeRetryable(f"Stripe answered {status}: {error.user_message or error}") from error
        raise StripeRejected(f"Stripe refused the transfer ({status}): {error.user_message or error}") from error
    return Transfer(id=str(transfer.id))
