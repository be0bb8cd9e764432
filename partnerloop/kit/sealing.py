"""Secrets at rest: the one place a secret is sealed (Fernet-encrypted) and unsealed. Payout details,
webhook signing secrets, Slack and HubSpot tokens and the program's Stripe keys all go through here.

The keys are ENCRYPTION_KEY's (the first encrypts, all decrypt). Without one, SQLite gets a key generated
once into a file beside the database (`<database>.key`, mode 0600) and PostgreSQL refuses to start: a
secret is never encrypted with a key anyone can derive. The key earlier versions derived from SECRET_KEY
still decrypts (existing data keeps working) and never encrypts; `partnerloop secrets rotate` re-seals.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

from partnerloop.config import Settings, get_settings
from partnerloop.kit.crypto import at_rest_fernet, generate_fernet_key, legacy_fernet_key, parse_fernet_keys

__all__ = ["InvalidToken", "MissingEncryptionKey", "seal", "unseal"]

log = logging.getLogger("partnerloop.secrets")

KEY_FILE_SUFFIX = ".key"


class MissingEncryptionKey(RuntimeError):
    """No ENCRYPTION_KEY where none can be generated (PostgreSQL)."""


MISSING_KEY_MESSAGE = (
    "ENCRYPTION_KEY is not set. On PostgreSQL Partnerloop needs it to encrypt secrets at rest (payout details, "
    "webhook and Stripe secrets) and will not start without it. Generate one with `partnerloop secrets "
    "generate-key`, keep it safe (without it the secrets cannot be read) and set ENCRYPTION_KEY."
)


def key_file_path(settings: Settings) -> Path | None:
    """Where a generated key lives: beside the SQLite database file; None for an in-memory SQLite database
    and for other databases."""
    if not settings.is_sqlite:
        return None
    database = make_url(settings.database_url).database or ""
    if database.startswith("file:"):  # a URI filename (?uri=true)
        if "mode=memory" in database:
            return None
        database = database.removeprefix("file:").split("?", 1)[0]
    if database in ("", ":memory:") or "mode=memory" in settings.database_url:
        return None
    return Path(database + KEY_FILE_SUFFIX)


def _read_or_create_key_file(path: Path) -> str:
    """The key in `path`; when there is none yet, a new key written there first (mode 0600). Two processes
    starting at once agree: the file appears whole (written aside, then linked) and the first one wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(descriptor, "w") as out:
                out.write(generate_fernet_key() + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.link(aside, path)
            log.warning(
                "ENCRYPTION_KEY is not set: generated a key into %s. Back it up with the database; "
                "without it the secrets stored there cannot be read.",
                path,
            )
        except FileExistsError:
            pass  # another process made it first: theirs is the key
        finally:
            aside.unlink(missing_ok=True)
    keys = parse_fernet_keys(path.read_text())
    if not keys:
        raise MissingEncryptionKey(f"The key file {path} is empty: restore it from a backup or set ENCRYPTION_KEY.")
    return ",".join(keys)


@lru_cache(maxsize=16)
def _resolved_keys(
    encryption_key: str | None, database_url: str, key_file: Path | None, sqlite: bool
) -> tuple[str, ...]:
    if encryption_key:
        return tuple(parse_fernet_keys(encryption_key))
    if key_file is not None:
        return tuple(parse_fernet_keys(_read_or_create_key_file(key_file)))
    if sqlite:  # in memory: the data lives as long as this process, and so does its key
        return (generate_fernet_key(),)
    raise MissingEncryptionKey(MISSING_KEY_MESSAGE)


def encryption_keys(settings: Settings) -> list[str]:
    """The keys, the encrypting one first: ENCRYPTION_KEY, or the SQLite key file (made on first use).

    Raises MissingEncryptionKey on PostgreSQL without ENCRYPTION_KEY."""
    return list(
        _resolved_keys(settings.encryption_key, settings.database_url, key_file_path(settings), settings.is_sqlite)
    )


def check_encryption_key(settings: Settings) -> None:
    """At start: make sure there is a key (generating the SQLite one), or raise MissingEncryptionKey."""
    encryption_keys(settings)


@lru_cache(maxsize=16)
def _fernets(keys: tuple[str, ...], legacy_key: str) -> tuple[MultiFernet, MultiFernet]:
    return at_rest_fernet(keys, decrypt_only=[legacy_key]), at_rest_fernet(keys[:1])


def fernet(settings: Settings) -> MultiFernet:
    """Encrypts with the first key; decrypts with any key, or the legacy SECRET_KEY-derived one."""
    return _fernets(tuple(encryption_keys(settings)), legacy_fernet_key(settings.secret_key))[0]


def seal(settings: Settings, secret: str) -> str:
    """The secret, encrypted with the first key (a Fernet token, ASCII)."""
    token: bytes = fernet(settings).encrypt(secret.encode())
    return token.decode()


def unseal(settings: Settings, token: str) -> str:
    """The secret in `token`; raises cryptography's InvalidToken when no key (nor the legacy one) reads it."""
    secret: bytes = fernet(settings).decrypt(token.encode())
    return secret.decode()


def reseal(settings: Settings, token: str) -> str | None:
    """`token` encrypted with the first key, or None when it already is (nothing to do).

    Raises InvalidToken when no key reads it."""
    keys = tuple(encryption_keys(settings))
    everything, current = _fernets(keys, legacy_fernet_key(settings.secret_key))
    try:
        current.decrypt(token.encode())
        return None
    except InvalidToken:
        resealed: bytes = everything.rotate(token.encode())
        return resealed.decode()


_configured: Settings | None = None


def configure_sealing(settings: Settings | None) -> None:
    """The settings of callers that have none at hand (e.g. a program's settings); None: the environment."""
    global _configured
    _configured = settings


def sealing_settings() -> Settings:
    return _configured or get_settings()
