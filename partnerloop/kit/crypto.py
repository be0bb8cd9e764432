"""Password hashing (argon2id, OWASP minimum: 19 MiB, 2 iterations) and the Fernet of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, MultiFernet

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


def generate_fernet_key() -> str:
    """A new random Fernet key (urlsafe base64 of 32 bytes), as ENCRYPTION_KEY holds it."""
    return Fernet.generate_key().decode()


def parse_fernet_keys(value: str) -> list[str]:
    """The comma-separated keys of ENCRYPTION_KEY, in order (the first encrypts); raises ValueError on a
    value that is not a Fernet key (the message never shows the key)."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError as error:
            raise ValueError(
                f"ENCRYPTION_KEY: key {position} is not a Fernet key (urlsafe base64 of 32 bytes)."
            ) from error
    return keys


def legacy_fernet_key(secret_key: str) -> str:
    """The key that earlier versions derived from SECRET_KEY when no key was set: it still decrypts what
    they encrypted, and never encrypts anything again."""
    digest = hashlib.sha256(b"partnerloop-payout-details:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def at_rest_fernet(keys: Sequence[str], decrypt_only: Sequence[str] = ()) -> MultiFernet:
    """The Fernet of secrets at rest: `keys[0]` encrypts; every key, then the `decrypt_only` ones, decrypt."""
    if not keys:
        raise ValueError("At least one encryption key is needed.")
    ordered = list(dict.fromkeys([*keys, *decrypt_only]))
    return MultiFernet([Fernet(key.encode()) for key in ordered])
