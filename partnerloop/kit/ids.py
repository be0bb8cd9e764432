"""Ids: ULIDs (time-ordered, unguessable) as strings; secrets for keys."""

from __future__ import annotations

import hashlib
import secrets

from ulid import ULID


def new_id() -> str:
    return str(ULID()).lower()


def new_secret(prefix: str, nbytes: int = 24) -> str:
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
