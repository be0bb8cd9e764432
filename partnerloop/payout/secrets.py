"""Payout details at rest: Fernet (AES-128-CBC + HMAC-SHA256) with PAYOUT_ENCRYPTION_KEY."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from partnerloop.config import Settings
from partnerloop.kit.crypto import at_rest_fernet


def fernet(settings: Settings) -> Fernet:
    """The configured key; without one, a key derived from SECRET_KEY (development only)."""
    return at_rest_fernet(settings.payout_encryption_key, settings.secret_key)


def encrypt_json(settings: Settings, value: dict[str, Any]) -> str:
    token: bytes = fernet(settings).encrypt(json.dumps(value, sort_keys=True).encode())
    return token.decode()


def decrypt_json(settings: Settings, token: str) -> dict[str, Any]:
    """Raises ValueError when the key changed (the token cannot be read)."""
    try:
        value: dict[str, Any] = json.loads(fernet(settings).decrypt(token.encode()))
    except InvalidToken as error:
        raise ValueError("Payout details cannot be decrypted with PAYOUT_ENCRYPTION_KEY.") from error
    return value
