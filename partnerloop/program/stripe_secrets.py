"""The program's Stripe secrets (webhook signing secret, secret key), sealed at rest: the one way they are
written and read (kit/sealing.py). Pages and API answers show only whether each is set."""

from __future__ import annotations

from partnerloop.config import Settings
from partnerloop.kit.sealing import seal, sealing_settings, unseal
from partnerloop.models import Program


def set_stripe_webhook_secret(program: Program, secret: str | None, settings: Settings | None = None) -> None:
    """Seal and keep the signing secret; None or "" clears it."""
    program.stripe_webhook_secret_encrypted = seal(settings or sealing_settings(), secret) if secret else None


def set_stripe_secret_key(program: Program, secret_key: str | None, settings: Settings | None = None) -> None:
    """Seal and keep the secret key; None or "" clears it."""
    program.stripe_secret_key_encrypted = seal(settings or sealing_settings(), secret_key) if secret_key else None


def stripe_webhook_secret(program: Program, settings: Settings | None = None) -> str | None:
    """The signing secret in clear, or None when none is set. Raises InvalidToken when no key reads it."""
    token = program.stripe_webhook_secret_encrypted
    return unseal(settings or sealing_settings(), token) if token else None


def stripe_secret_key(program: Program, settings: Settings | None = None) -> str | None:
    """The secret key in clear, or None when none is set. Raises InvalidToken when no key reads it."""
    token = program.stripe_secret_key_encrypted
    return unseal(settings or sealing_settings(), token) if token else None


def has_stripe_webhook_secret(program: Program) -> bool:
    return program.stripe_webhook_secret_encrypted is not None


def has_stripe_secret_key(program: Program) -> bool:
    return program.stripe_secret_key_encrypted is not None
