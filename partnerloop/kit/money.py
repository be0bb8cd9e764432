"""Money: integer minor units plus a lower-case ISO 4217 currency, and the one rounding function."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, list_currencies

from partnerloop.kit.errors import AppError

MAX_AMOUNT = 10**13  # minor units: 100 billion in a two-decimal currency, well inside BIGINT


class CurrencyMismatch(AppError):
    status_code = 409


class UnknownCurrency(AppError):
    status_code = 422


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(code.lower() for code in list_currencies())


def normalize_currency(code: str) -> str:
    """Return the lower-case ISO 4217 code, or raise UnknownCurrency."""
    lowered = code.strip().lower()
    if len(lowered) != 3 or lowered not in _known_currencies():
        raise UnknownCurrency(f"'{code}' is not an ISO 4217 currency code.")
    return lowered


def is_currency(code: str) -> bool:
    return code.lower() in _known_currencies()


@lru_cache(maxsize=512)
def minor_digits(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (usd 2, jpy 0, kwd 3)."""
    return int(get_currency_precision(currency.upper()))


def round_half_away(value: Fraction | Decimal | int) -> int:
    """Round to the nearest integer, halves away from zero. The only rounding in Partnerloop."""
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))  # ROUND_HALF_UP is away from zero
    numerator, denominator = value.numerator, value.denominator  # denominator is always > 0
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def percent_of(amount: int, rate_bps: int) -> int:
    """amount × rate in basis points, rounded once."""
    return round_half_away(Fraction(amount * rate_bps, 10_000))


def prorate(amount: int, part: int, whole: int) -> int:
    """amount × part ÷ whole, rounded once (refunds reverse proportionally)."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    return round_half_away(Fraction(amount * part, whole))


def format_money(amount: int, currency: str) -> str:
    """'49.00 USD', '-1.500 KWD', '1200 JPY': exact, no float."""
    digits = minor_digits(currency)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 10**digits)
    text = f"{units}.{minor:0{digits}d}" if digits else str(units)
    return f"{sign}{text} {currency.upper()}"


def display_money(amount: int, currency: str, locale: str = "en") -> str:
    """The amount as a reader in `locale` writes it, by Babel: '$1,234.50' (en), '1.234,50 €' (de_DE).

    For pages and emails (`email_money`): CSV, the API and stored texts keep `format_money` (locale-free)."""
    digits = minor_digits(currency)
    value = Decimal(amount).scaleb(-digits)  # exact: no float between the integer and the text
    return str(format_currency(value, currency.upper(), locale=locale))


EMAIL_LOCALE = "en"  # no recipient stores a locale yet: emails read money as English readers write it


def email_money(amount: int, currency: str, locale: str | None = None) -> str:
    """Money in an email, as pages show it: Babel in the recipient's locale when known, else English
    ('$1,234.50'). Stored texts quoted in an email (a commission's explanation) keep their own wording."""
    return display_money(amount, currency, locale or EMAIL_LOCALE)


def format_rate(rate_bps: int) -> str:
    """2000 -> '20%', 1250 -> '12.5%', 333 -> '3.33%'."""
    whole, rest = divmod(rate_bps, 100)
    if rest == 0:
        return f"{whole}%"
    return f"{whole}.{rest:02d}".rstrip("0") + "%"


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot add {other.currency} to {self.currency}.")
        return Money(self.amount + other.amount, self.currency)

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)
