"""Signed click ids: a click id says which link it came from and when, authenticated with the server's key,
so a conversion naming a click that was never written (lost in a crash before the buffer flushed) is still
attributed to the right partner, and the click is recorded then (tracking/service.recover_click).

Format (64 lower-case Crockford base32 characters, the alphabet of every id here):
  click ULID (26: 48-bit milliseconds + randomness) | link id (26, a ULID) | MAC (12: 60 bits)
The MAC is HMAC-SHA256 over the first 52 characters, keyed by a key derived from SECRET_KEY, truncated to 60
bits: a forger must guess it online, one API request at a time (2^60 tries). Hand-written on purpose: it runs
on every redirect (~1 µs with hmac.digest); itsdangerous and the like add separators, base64 and a timestamp
encoding we already have in the ULID. Old 26-character ids (and ids signed under an earlier SECRET_KEY) carry
no valid MAC: they are looked up in the database only, as before.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from partnerloop.kit.ids import new_id_bytes

ULID_LENGTH = 26
MAC_LENGTH = 12
SIGNED_LENGTH = 2 * ULID_LENGTH + MAC_LENGTH  # 64
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_CROCKFORD_VALUE = {char: value for value, char in enumerate(_CROCKFORD)}
# A MAC byte becomes the base32 character of its low 5 bits: 12 bytes give 60 bits of the MAC.
_BYTE_TO_CHAR = bytes(_CROCKFORD.encode()[byte & 31] for byte in range(256))


@dataclass(frozen=True, slots=True)
class SignedClick:
    """What a validly signed click id says: the link it was made on and when."""

    click_id: str
    link_id: str
    clicked_at: datetime


def derive_key(secret_key: str) -> bytes:
    """The click-id MAC key: SECRET_KEY, separated from its other uses."""
    return hashlib.sha256(b"partnerloop-click-id:" + secret_key.encode()).digest()


class ClickIds:
    """Makes and verifies signed click ids with one server key."""

    __slots__ = ("_key",)

    def __init__(self, secret_key: str) -> None:
        self._key = derive_key(secret_key)

    def new(self, link_id: bytes) -> bytes:
        """A fresh click id for a click on the link `link_id` (ASCII), now. A link id that is not a ULID (no
        such link is made here) gets a plain, unsigned ULID."""
        base = new_id_bytes()
        if len(link_id) != ULID_LENGTH:
            return base
        body = base + link_id
        return body + hmac.digest(self._key, body, "sha256")[:MAC_LENGTH].translate(_BYTE_TO_CHAR)

    def sign(self, base: bytes, link_id: bytes) -> bytes:
        """The signed id of the click ULID `base` on the link `link_id` (what new() makes, for a given ULID)."""
        body = base + link_id
        return body + hmac.digest(self._key, body, "sha256")[:MAC_LENGTH].translate(_BYTE_TO_CHAR)

    def verify(self, click_id: str) -> SignedClick | None:
        """What the click id says, when it is signed with this key; None for any other text (old ids,
        tampered or forged ones, ids of another key)."""
        if len(click_id) != SIGNED_LENGTH or not click_id.isascii():
            return None
        body = click_id[: 2 * ULID_LENGTH].encode()
        expected = hmac.digest(self._key, body, "sha256")[:MAC_LENGTH].translate(_BYTE_TO_CHAR)
        if not hmac.compare_digest(expected, click_id[2 * ULID_LENGTH :].encode()):
            return None
        milliseconds = 0
        for char in click_id[:10]:
            value = _CROCKFORD_VALUE.get(char)
            if value is None:
                return None
            milliseconds = milliseconds * 32 + value
        clicked_at = datetime.fromtimestamp(milliseconds / 1000, UTC)
        return SignedClick(click_id, click_id[ULID_LENGTH : 2 * ULID_LENGTH], clicked_at)


def looks_like_click_id(text: str) -> bool:
    """Whether `text` has the shape of a click id, old (26) or signed (64): for cookies sent back."""
    return len(text) in (ULID_LENGTH, SIGNED_LENGTH) and text.isascii() and text.isalnum()


_configured: ClickIds | None = None


def configure_click_ids(secret_key: str) -> ClickIds:
    """Set the process's click-id key (the app and the worker call this at start)."""
    global _configured
    _configured = ClickIds(secret_key)
    return _configured


def click_ids() -> ClickIds:
    """The configured ClickIds; unconfigured (a bare job worker, a script): from the environment's settings."""
    if _configured is None:
        from partnerloop.config import get_settings

        return configure_click_ids(get_settings().secret_key)
    return _configured
