"""The kinds of notification email, who gets each, and the sentence that says why it was sent (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    PARTNER = "partner"
    MANAGER = "manager"


@dataclass(frozen=True)
class Kind:
    key: str
    audience: Audience
    label: str  # the checkbox on the account page
    reason: str  # completes "You get this email because you are {role} of {program} and asked for …"


KINDS: tuple[Kind, ...] = (
    Kind("commission_created", Audience.PARTNER, "A new commission", "an email for every new commission"),
    Kind("commission_approved", Audience.PARTNER, "A commission approved", "an email when a commission is approved"),
    Kind("payout_sent", Audience.PARTNER, "A payout sent (or failed)", "an email about each of your payouts"),
    Kind("application_decided", Audience.PARTNER, "My application decided", "an email when your application is decided"),
    Kind("new_application", Audience.MANAGER, "A new partner application", "an email for every new application"),
    Kind("payout_failed", Audience.MANAGER, "A payout failed", "an email when a payout fails"),
    Kind("webhook_disabled", Audience.MANAGER, "A webhook endpoint disabled", "an email when a webhook endpoint is disabled"),
    Kind("alert_raised", Audience.MANAGER, "An alert raised", "an email for every new fraud or performance alert"),
    Kind("weekly_digest", Audience.MANAGER, "The weekly digest", "the weekly digest of the program"),
)  # fmt: skip

BY_KEY = {kind.key: kind for kind in KINDS}


def kinds_for(audience: Audience) -> list[Kind]:
    return [kind for kind in KINDS if kind.audience is audience]


def why_sent(kind: Kind, program_name: str) -> str:
    """'You get this email because you are a partner of Acme and asked for an email for every new commission.'"""
    role = "a partner" if kind.audience is Audience.PARTNER else "on the team"
    return f"You get this email because you are {role} of {program_name} and asked for {kind.reason}."


def scope_of(program_id: str, kind: str, email: str) -> str:
    """What an unsubscribe token of a notification covers: one kind, one address, one program."""
    return f"notify:{program_id}:{kind}:{email.lower()}"


def parse_scope(scope: str) -> tuple[str, str, str] | None:
    """(program_id, kind, email) of a notification scope; None when it is not one."""
    parts = scope.split(":", 3)
    if len(parts) != 4 or parts[0] != "notify" or parts[2] not in BY_KEY or "@" not in parts[3]:
        return None
    return parts[1], parts[2], parts[3]
