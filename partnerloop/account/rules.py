"""Pure decisions of the account layer: password policy, session validity, roles, safe redirects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from importlib import resources

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # argon2 takes anything, but a megabyte "password" is an attack, not a secret


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    VIEWER = "viewer"

    @property
    def can_act(self) -> bool:
        """Approve, reject, edit plans and partners: everyone but a viewer."""
        return self is not Role.VIEWER

    @property
    def can_administer(self) -> bool:
        """Program settings, API keys and the team: owners and admins."""
        return self in (Role.OWNER, Role.ADMIN)

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.OWNER: "Owner: everything, including other owners",
    Role.ADMIN: "Admin: everything but owners",
    Role.MANAGER: "Manager: partners, commissions and plans",
    Role.VIEWER: "Viewer: reads only",
}


def assignable_roles(inviter: Role) -> list[Role]:
    """The roles `inviter` may give (or take away): an owner any, an admin any but owner, others none."""
    if inviter is Role.OWNER:
        return list(Role)
    if inviter is Role.ADMIN:
        return [Role.ADMIN, Role.MANAGER, Role.VIEWER]
    return []


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (8+ characters), lower-cased."""
    text = resources.files("partnerloop.account").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why this password is refused, as a sentence for the form; None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "This password is one of the most common ones; choose another."
    if len(set(lowered)) < 3:
        return "This password repeats too few characters; choose another."
    if email and lowered in (email.lower(), email.split("@", 1)[0].lower()):
        return "Do not use your email address as password."
    return None


@dataclass(frozen=True)
class SessionTimes:
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


def session_is_valid(times: SessionTimes, now: datetime, idle: timedelta) -> bool:
    """Valid when not ended, before its absolute expiry and seen within the idle timeout."""
    return times.ended_at is None and now < times.expires_at and now - times.last_seen_at < idle


def should_touch(last_seen_at: datetime, now: datetime) -> bool:
    """Record activity at most once a minute: the idle timeout does not need finer steps."""
    return now - last_seen_at >= timedelta(seconds=60)


def safe_next(next_url: str | None, default: str) -> str:
    """A local path to go to after login; anything pointing off-site (//host, scheme:) gives `default`."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return default
    if any(ord(char) < 32 for char in next_url):
        return default
    return next_url


def landing_page(is_member: bool, is_partner: bool) -> str:
    """Where a user lands after login: workspace members on /manage, partners on /partner."""
    if is_member:
        return "/manage"
    if is_partner:
        return "/partner"
    return "/account"
