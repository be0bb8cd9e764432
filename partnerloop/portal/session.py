"""The login cookie: user id and issue time, signed with SECRET_KEY (HMAC-SHA256).

Hand-written because it is ten lines of stdlib; server-side sessions with rotation and
revocation replace it with the portal issue.
"""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE_NAME = "pl_session"
MAX_AGE_S = 12 * 3600


def _signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign(secret: str, user_id: str, now: float | None = None) -> str:
    payload = f"{user_id}.{int(now if now is not None else time.time())}"
    return f"{payload}.{_signature(secret, payload)}"


def verify(secret: str, cookie: str | None, now: float | None = None) -> str | None:
    """The user id in a valid, unexpired cookie, else None."""
    if not cookie or cookie.count(".") != 2:
        return None
    user_id, issued, signature = cookie.split(".")
    if not hmac.compare_digest(signature, _signature(secret, f"{user_id}.{issued}")):
        return None
    if not issued.isdigit() or (now if now is not None else time.time()) - int(issued) > MAX_AGE_S:
        return None
    return user_id
