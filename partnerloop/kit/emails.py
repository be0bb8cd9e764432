"""One spelling per mailbox, for the checks that compare people (self-referral in alerts and referrals)."""

from __future__ import annotations

import hashlib

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalize_email(email: str) -> str:
    """One spelling per mailbox: lower case, no `+tag`, and for Gmail no dots (and googlemail = gmail)."""
    local, _, domain = email.strip().lower().rpartition("@")
    if not local:
        return email.strip().lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_key(email: str) -> str:
    """The normalized email's SHA-256: what self-referral checks compare (the address itself is not kept)."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()
