"""Password hashing (argon2id, OWASP minimum: 19 MiB, 2 iterations) and the Fernet of secrets at rest."""

from __future__ import annotations

import base64
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other (weaker) parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def at_rest_fernet(encryption_key: str | None, secret_key: str) -> Fernet:
    """The Fernet of secrets at rest (payout details, webhook signing secrets): PAYOUT_ENCRYPTION_KEY, or
    without one a key derived from SECRET_KEY (development only)."""
    if encryption_key:
        return Fernet(encryption_key.encode())
    digest = hashlib.sha256(b"partnerloop-payout-details:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))
