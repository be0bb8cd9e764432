"""Exchange rates (pure): parse them exactly, convert with them, read a CSV of daily rates.

A rate says 1 `base` = `rate` `quote`. Converting an amount in minor units multiplies by the rate
and by 10^(quote digits - base digits), exactly (fractions), then rounds once, half away from zero.
When only the opposite pair is known its inverse is used, written "1/<rate>" so it stays exact; a
cross rate through the euro (ECB rates are all EUR -> X) is written "<EUR->quote>/<EUR->base>".
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.money import MAX_AMOUNT, is_currency, minor_digits, round_half_away

MAX_RATE_DIGITS = 30
MAX_RATE_DECIMALS = 18
# No currency is worth a trillion of another; '1e999999' would be a million-digit text and an amount no
# column holds.
MAX_RATE = Decimal(10**12)


class ConvertedAmountOutOfRange(InvalidInput):
    """A conversion whose result is beyond MAX_AMOUNT (a rate near the bounds times a large amount): 422."""


MAX_CSV_ROWS = 100_000


def parse_rate(text: str) -> Decimal | str:
    """The rate as an exact Decimal, or a sentence saying why it is not one."""
    try:
        rate = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return f"'{text}' is not a decimal number"
    if not rate.is_finite() or rate <= 0:
        return f"rate {text} must be a positive number"
    if rate > MAX_RATE:
        return f"rate {text} is above the largest rate taken ({MAX_RATE:,})"
    _sign, digits, exponent = rate.as_tuple()
    assert isinstance(exponent, int)  # finite
    if len(digits) > MAX_RATE_DIGITS or -exponent > MAX_RATE_DECIMALS:
        return f"rate {text} has more digits than kept ({MAX_RATE_DIGITS} digits, {MAX_RATE_DECIMALS} decimals)"
    return rate


def rate_text(rate: Decimal) -> str:
    """'1.0841', '150', '0.0067': plain notation, no exponent, no trailing zeros."""
    text = format(rate.normalize(), "f")
    return text


def rate_value(text: str) -> Fraction:
    """The exact value of a rate text ('1.0841', the inverse '1/0.9224', the cross '162.4/1.0841')."""
    numerator, _slash, denominator = text.partition("/")
    if denominator:
        return Fraction(Decimal(numerator)) / Fraction(Decimal(denominator))
    return Fraction(Decimal(text))


MAX_RATE_TEXT = 40  # the width of the rate columns (fx_rates.rate, events.fx_rate)


def cross_rate(eur_to_base: str, eur_to_quote: str) -> str:
    """1 base in quote through the euro, from two EUR -> X rate texts: exact as a quotient when it fits
    the rate columns, else rounded to the kept decimals (a conversion of any real amount is the same)."""
    text = f"{eur_to_quote}/{eur_to_base}"
    if len(text) <= MAX_RATE_TEXT and "/" not in eur_to_base + eur_to_quote:
        return text
    exact = rate_value(eur_to_quote) / rate_value(eur_to_base)
    quantum = Decimal(1).scaleb(-MAX_RATE_DECIMALS)
    return rate_text((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(quantum))


def convert(amount: int, from_currency: str, to_currency: str, rate: str) -> int:
    """`amount` minor units of `from_currency` in minor units of `to_currency`, rounded once."""
    shift = minor_digits(to_currency) - minor_digits(from_currency)
    converted = round_half_away(Fraction(amount) * rate_value(rate) * Fraction(10) ** shift)
    if abs(converted) > MAX_AMOUNT:
        raise ConvertedAmountOutOfRange(
            f"{amount} {from_currency.upper()} at the rate {rate} is {converted} {to_currency.upper()}, beyond the "
            f"largest amount taken ({MAX_AMOUNT}): check the exchange rate."
        )
    return converted


@dataclass(frozen=True)
class RateRow:
    day: date
    base: str
    quote: str
    rate: str  # exact decimal text


def check_pair(base: str, quote: str) -> str | None:
    """Why (base, quote) is not a usable pair, or None."""
    for code in (base, quote):
        if not is_currency(code):
            return f"'{code}' is not an ISO 4217 currency code"
    if base.lower() == quote.lower():
        return f"base and quote are both {base.upper()}"
    return None


REQUIRED_COLUMNS = ("date", "base", "quote", "rate")


def parse_csv(text: str) -> tuple[list[RateRow], list[str]]:
    """Rows of a CSV with the columns date,base,quote,rate (a header line first, any order).

    Returns (rows, problems): every problem carries its line number, and a file with any problem
    is to be taken not at all.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        return [], [
            f"line 1: the header needs the columns {', '.join(REQUIRED_COLUMNS)} (missing {', '.join(missing)})"
        ]
    reader.fieldnames = header
    rows: list[RateRow] = []
    problems: list[str] = []
    seen: dict[tuple[date, str, str], int] = {}
    for line, record in enumerate(reader, start=2):
        if not any((value or "").strip() for value in record.values() if isinstance(value, str)):
            continue  # a blank line
        if len(rows) + len(problems) >= MAX_CSV_ROWS:
            problems.append(f"line {line}: more than {MAX_CSV_ROWS} rates in one file")
            break
        values = {name: (record.get(name) or "").strip() for name in REQUIRED_COLUMNS}
        try:
            day = date.fromisoformat(values["date"])
        except ValueError:
            problems.append(f"line {line}: date '{values['date']}' is not YYYY-MM-DD")
            continue
        pair_problem = check_pair(values["base"], values["quote"])
        if pair_problem is not None:
            problems.append(f"line {line}: {pair_problem}")
            continue
        rate = parse_rate(values["rate"])
        if isinstance(rate, str):
            problems.append(f"line {line}: {rate}")
            continue
        key = (day, values["base"].lower(), values["quote"].lower())
        if key in seen:
            problems.append(f"line {line}: {key[1].upper()}/{key[2].upper()} on {day} is given on line {seen[key]} too")
            continue
        seen[key] = line
        rows.append(RateRow(day, key[1], key[2], rate_text(rate)))
    return rows, problems


# ---------------------------------------------------------------- the ECB's daily reference rates

ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
MAX_ECB_BYTES = 1_000_000  # the real file is ~2 KB; anything far larger is not it


@dataclass(frozen=True)
class EcbRates:
    day: date
    rows: list[RateRow]  # EUR -> each currency, in the file's order


def parse_ecb_xml(body: bytes) -> EcbRates:
    """The rates of the ECB's eurofxref-daily.xml: `<Cube time='YYYY-MM-DD'>` holding one
    `<Cube currency='USD' rate='1.0841'/>` per currency, all 1 EUR = rate X.

    Raises ValueError saying what is wrong (not XML, no day, a bad rate): such a file is taken not at all.
    """
    if len(body) > MAX_ECB_BYTES:
        raise ValueError(f"the rates file is larger than {MAX_ECB_BYTES} bytes")
    try:
        # The stdlib parser resolves no external entities, and expat (>= 2.4.1) refuses entity
        # expansion bombs; the file comes from the URL the operator configured.
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as error:
        raise ValueError(f"the rates file is not XML ({error})") from None
    days = [cube for cube in root.iter(f"{ECB_NAMESPACE}Cube") if cube.get("time")]
    if len(days) != 1:
        raise ValueError(f"the rates file holds {len(days)} days, not one")
    try:
        day = date.fromisoformat(days[0].get("time") or "")
    except ValueError:
        raise ValueError(f"the day '{days[0].get('time')}' is not YYYY-MM-DD") from None
    rows: list[RateRow] = []
    for cube in days[0].iter(f"{ECB_NAMESPACE}Cube"):
        code, text = (cube.get("currency") or "").lower(), cube.get("rate")
        if text is None:
            continue  # the day's own element
        if not is_currency(code) or code == "eur":
            continue  # a currency we do not know cannot be priced anyway
        rate = parse_rate(text)
        if isinstance(rate, str):
            raise ValueError(f"{code.upper()}: {rate}")
        rows.append(RateRow(day, "eur", code, rate_text(rate)))
    if not rows:
        raise ValueError(f"the rates file has no rates for {day.isoformat()}")
    return EcbRates(day, rows)
