"""Pure payout decisions: statuses, payout details checks (emails, IBANs, currencies), netting and
thresholds, schedules, masking, and the provider formats' amount text. No session, no clock."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from partnerloop.kit.money import is_currency, minor_digits


class PayoutStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_open(self) -> bool:
        """Still on its way: it may yet be paid, failed or canceled."""
        return self in (PayoutStatus.PENDING, PayoutStatus.PROCESSING)

    @property
    def holds_commissions(self) -> bool:
        """Its commissions are settled by it (not returned to the partner's available balance)."""
        return self not in (PayoutStatus.FAILED, PayoutStatus.CANCELED)


class MethodType(StrEnum):
    PAYPAL = "paypal"
    WISE = "wise"
    STRIPE_CONNECT = "stripe_connect"
    MANUAL = "manual"

    @property
    def sent_by_api(self) -> bool:
        return self in (MethodType.PAYPAL, MethodType.STRIPE_CONNECT)


# PayPal Payouts: the currencies PayPal accepts for payouts (developer.paypal.com, currency codes).
PAYPAL_CURRENCIES = frozenset(
    [
        "aud",
        "brl",
        "cad",
        "cny",
        "czk",
        "dkk",
        "eur",
        "hkd",
        "huf",
        "ils",
        "jpy",
        "myr",
        "mxn",
        "twd",
        "nzd",
        "nok",
        "php",
        "pln",
        "gbp",
        "sgd",
        "sek",
        "chf",
        "thb",
        "usd",
    ]
)
# Wise: target currencies a business batch can pay to a bank account (wise.com/help, supported currencies).
WISE_CURRENCIES = frozenset(
    [
        "aed",
        "ars",
        "aud",
        "bdt",
        "bgn",
        "brl",
        "cad",
        "chf",
        "clp",
        "cny",
        "cop",
        "czk",
        "dkk",
        "egp",
        "eur",
        "gbp",
        "gel",
        "hkd",
        "huf",
        "idr",
        "ils",
        "inr",
        "jpy",
        "kes",
        "krw",
        "lkr",
        "mad",
        "mxn",
        "myr",
        "ngn",
        "nok",
        "npr",
        "nzd",
        "pen",
        "php",
        "pkr",
        "pln",
        "ron",
        "sek",
        "sgd",
        "thb",
        "try",
        "uah",
        "usd",
        "uyu",
        "vnd",
        "zar",
    ]
)


def currencies_for(method: MethodType) -> frozenset[str] | None:
    """The currencies the method can pay in (None: any ISO 4217 currency)."""
    if method is MethodType.PAYPAL:
        return PAYPAL_CURRENCIES
    if method is MethodType.WISE:
        return WISE_CURRENCIES
    return None


def currency_problem(method: MethodType, currency: str) -> str | None:
    """Why `method` cannot pay in `currency`, or None."""
    if not is_currency(currency):
        return f"'{currency}' is not an ISO 4217 currency code."
    allowed = currencies_for(method)
    if allowed is not None and currency not in allowed:
        return f"{method.value} cannot pay in {currency.upper()}; it pays in {', '.join(sorted(c.upper() for c in allowed))}."
    return None


# One dot-atom local part, a domain with at least one dot and a 2+ letter TLD: what PayPal accepts as EMAIL.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
)


def email_problem(email: str) -> str | None:
    if len(email) > 127 or not _EMAIL.match(email) or ".." in email:
        return f"'{email}' is not a valid email address for PayPal."
    return None


# ISO 13616 lengths per country (SWIFT IBAN registry), for the countries Wise pays most.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip


def normalize_iban(iban: str) -> str:
    return re.sub(r"\s+", "", iban).upper()


def iban_problem(iban: str) -> str | None:
    """ISO 13616: country, length, and the mod-97 checksum (== 1)."""
    value = normalize_iban(iban)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", value):
        return "The IBAN must be two letters, two check digits and the account (letters and digits)."
    expected = IBAN_LENGTHS.get(value[:2])
    if expected is not None and len(value) != expected:
        return f"A {value[:2]} IBAN has {expected} characters, this one {len(value)}."
    rearranged = value[4:] + value[:4]
    digits = "".join(str(int(char, 36)) for char in rearranged)
    if int(digits) % 97 != 1:
        return "The IBAN's check digits do not match (mod-97 checksum): a typo?"
    return None


def mask(value: str, keep: int = 4) -> str:
    """'DE89370400440532013000' -> '••••••••••••••••••3000'."""
    if len(value) <= keep:
        return "•" * len(value)
    return "•" * (len(value) - keep) + value[-keep:]


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


@dataclass(frozen=True)
class PartnerTotal:
    """A partner's payable commissions in one currency, netted: priced from the ledger (their postings on
    the approved account), so a run pays what the balance shows as available."""

    partner_id: str
    currency: str
    amount: int  # signed, minor units
    count: int  # commissions


@dataclass(frozen=True)
class Decision:
    partner_id: str
    source_currency: str
    source_amount: int
    pay: bool
    reasons: tuple[str, ...] = ()  # every reason not to pay now, for the manager and the partner

    @property
    def reason(self) -> str:
        return " ".join(self.reasons)


def decide(total: PartnerTotal, *, problems: Sequence[str] = (), minimum: int | None) -> Decision:
    """Pay this partner this run, or say every reason why not: the amount's (nothing to pay, no rate,
    under the minimum) and then the partner's `problems` (banned, no usable payout method), so a
    partner under the minimum without a method hears both. `minimum` is the program's threshold in
    the total's currency (None: no rate to compare with, so not paid)."""
    reasons: list[str] = []
    if total.amount <= 0:
        reasons.append(
            f"Nothing to pay: reversals and clawbacks net the balance to {total.amount} {total.currency.upper()} "
            f"(carried to the next run)."
        )
    elif minimum is None:
        reasons.append(f"No exchange rate to compare {total.currency.upper()} with the program's minimum payout.")
    elif total.amount < minimum:
        reasons.append(
            f"Below the minimum payout: {format_amount(total.amount, total.currency)} of "
            f"{format_amount(minimum, total.currency)} {total.currency.upper()} (carried to the next run)."
        )
    reasons += problems
    return Decision(total.partner_id, total.currency, total.amount, not reasons, tuple(reasons))


class Delivery(StrEnum):
    """How a payout reaches the partner: by the provider's API, or by a person (CSV upload, bank) who
    then marks it paid. Decided once, at the run: a payout waiting for CSV is never sent by API."""

    API = "api"
    CSV = "csv"


def delivery_for(method: MethodType, provider_configured: bool) -> Delivery:
    """By API only when the method has one and its provider's credentials are configured."""
    return Delivery.API if method.sent_by_api and provider_configured else Delivery.CSV


def format_amount(amount: int, currency: str) -> str:
    """Minor units as the decimal text providers expect: 12345 usd -> '123.45', 500 jpy -> '500'."""
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**digits) if digits else (abs(amount), 0)
    return f"{sign}{whole}" + (f".{part:0{digits}d}" if digits else "")


def scheduled_run(schedule: str, day_of_month: int, net_days: int, now: datetime) -> tuple[str, datetime] | None:
    """(run key, cutoff) of the monthly run due at `now`, or None. Monthly on day D with NET-N: from
    day D of a month, pay commissions created before (day D - N days)."""
    if schedule != "monthly" or now.day < day_of_month:
        return None
    run_day = datetime(now.year, now.month, day_of_month, tzinfo=UTC)
    return f"monthly:{now.year:04d}-{now.month:02d}", run_day - timedelta(days=net_days)


PAYPAL_FINAL_FAILURES = frozenset({"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED", "DENIED", "CANCELED"})


def paypal_item_outcome(transaction_status: str) -> PayoutStatus | None:
    """What a PayPal payout item's transaction_status means for our payout (None: not final yet).

    UNCLAIMED stays open: PayPal returns it after 30 days (then RETURNED), so we keep polling."""
    if transaction_status == "SUCCESS":
        return PayoutStatus.PAID
    if transaction_status in PAYPAL_FINAL_FAILURES:
        return PayoutStatus.FAILED
    return None


def over_1099_threshold(amount_usd: int, threshold: int = 60000) -> bool:
    """1099-NEC: nonemployee compensation of $600 or more in a calendar year (amount in cents)."""
    return amount_usd >= threshold
