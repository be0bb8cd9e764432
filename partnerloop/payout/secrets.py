"""Payout details at rest: JSON sealed with ENCRYPTION_KEY (kit/sealing.py, Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import MultiFernet

from partnerloop.config import Settings
from partnerloop.kit import sealing
from partnerloop.kit.sealing import InvalidToken


def fernet(settings: Settings) -> MultiFernet:
    """The Fernet of secrets at rest (kit/sealing.py)."""
    return sealing.fernet(settings)


def encrypt_json(settings: Settings, value: dict[str, Any]) -> str:
    return sealing.seal(settings, json.dumps(value, sort_keys=True))


def decrypt_json(settings: Settings, token: str) -> dict[str, Any]:
    """Raises ValueError when the key changed (the token cannot be read)."""
    try:
        value: dict[str, Any] = json.loads(sealing.unseal(settings, token))
    except InvalidToken as error:
        raise ValueError("Payout details cannot be decrypted with ENCRYPTION_KEY.") from error
    return value
