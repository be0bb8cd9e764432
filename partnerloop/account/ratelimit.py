"""Rate limits on login and password reset (the `limits` library), counted where `kit/ratelimit` says.

Login counts failed attempts, so that knowing someone's email is not enough to lock them out:
- per (account, IP) pair, 10 in 15 minutes: a wrong-password flood from one IP locks that account out
  from that IP only; the owner still logs in from anywhere else. A successful login from the pair
  clears its count.
- per IP, any account, 100 failures in 15 minutes: password spraying from one address. Successes are not
  counted, so an office behind one NAT logs in as many accounts as it has.
Password reset requests (and verification emails) count every request, per IP and per account.
"""

from __future__ import annotations

from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.strategies import MovingWindowRateLimiter

from partnerloop.config import Settings
from partnerloop.kit.ratelimit import StorageOutage, counter_storage


@dataclass(frozen=True)
class Limit:
    name: str
    per_ip: RateLimitItem
    per_account: RateLimitItem


# Failed logins: per_account is per (account, IP) pair, per_ip is per IP over every account.
LOGIN = Limit("login", per_ip=parse("100/15minutes"), per_account=parse("10/15minutes"))
PASSWORD_RESET = Limit("reset", per_ip=parse("20/hour"), per_account=parse("5/hour"))


def _account_key(account: str) -> str:
    return account.strip().lower()


class AttemptLimiter:
    """One per web process (on app.state). Fails open, with a warning, when Redis is down."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(counter_storage(settings.redis_url, settings.rate_limit_key_prefix))
        self._outage = StorageOutage()

    def allow(self, limit: Limit, *, ip: str, account: str) -> bool:
        """Count one request from `ip` on `account`; False when either is over its limit."""
        try:
            ip_ok = self._limiter.hit(limit.per_ip, limit.name, "ip", ip)
            account_ok = self._limiter.hit(limit.per_account, limit.name, "account", _account_key(account))
        except StorageError as error:
            self._outage.report(limit.name, error)
            return True
        return ip_ok and account_ok

    def login_allowed(self, *, ip: str, account: str) -> bool:
        """Whether a login on `account` from `ip` may be tried: False while the pair or the IP has too many
        failures. Counts the attempt against the pair before the password is checked, so that parallel
        guesses cannot all pass the check; `login_succeeded` takes it back."""
        try:
            if not self._limiter.test(LOGIN.per_ip, LOGIN.name, "ip", ip):
                return False
            return self._limiter.hit(LOGIN.per_account, LOGIN.name, "pair", _account_key(account), ip)
        except StorageError as error:
            self._outage.report(LOGIN.name, error)
            return True

    def login_failed(self, *, ip: str) -> None:
        """A wrong email or password from `ip` (its pair's attempt is already counted)."""
        try:
            self._limiter.hit(LOGIN.per_ip, LOGIN.name, "ip", ip)
        except StorageError as error:
            self._outage.report(LOGIN.name, error)

    def login_succeeded(self, *, ip: str, account: str) -> None:
        """The password was right: the pair starts again from zero failures."""
        try:
            self._limiter.clear(LOGIN.per_account, LOGIN.name, "pair", _account_key(account), ip)
        except StorageError as error:
            self._outage.report(LOGIN.name, error)
