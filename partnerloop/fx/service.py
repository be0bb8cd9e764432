"""Exchange rates: record them (one by one or from a CSV of daily rates) and convert sales with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from partnerloop.fx import repository
from partnerloop.fx.rules import RateRow, check_pair, convert, parse_csv, parse_rate, rate_text
from partnerloop.fx.schemas import FxImportOut, FxRateIn, FxRateOut
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.money import normalize_currency
from partnerloop.kit.time import as_utc
from partnerloop.models import FxRate, Program


class InvalidRate(InvalidInput):
    pass


class InvalidRatesFile(InvalidInput):
    pass


class NoExchangeRate(InvalidInput):
    """A sale in another currency and no rate to convert it: 422, nothing written."""


class RateNotFound(NotFound):
    pass


@dataclass(frozen=True)
class Conversion:
    program_amount: int
    fx_rate: str | None  # None when the sale is in the program's currency


def rate_out(rate: FxRate) -> FxRateOut:
    return FxRateOut(
        id=rate.id,
        base=rate.base,
        quote=rate.quote,
        date=rate.day,
        rate=rate.rate,
        source=rate.source,
        updated_at=rate.updated_at,
    )


def record_rate(session: Session, program: Program, body: FxRateIn) -> FxRate:
    """Record (or replace) the rate of one pair and day."""
    problem = check_pair(body.base, body.quote)
    if problem is not None:
        raise InvalidRate(problem + ".")
    rate = parse_rate(body.rate)
    if isinstance(rate, str):
        raise InvalidRate(rate + ".")
    base, quote = body.base.lower(), body.quote.lower()
    repository.upsert_rates(
        session, program.id, [{"base": base, "quote": quote, "day": body.date, "rate": rate_text(rate)}], "api"
    )
    found = repository.get_rate(session, program.id, base, quote, body.date)
    assert found is not None  # just written
    session.refresh(found)
    return found


def import_csv(session: Session, program: Program, text: str, source: str = "csv") -> FxImportOut:
    """Record every rate of a CSV (date,base,quote,rate); any bad line refuses the whole file."""
    rows, problems = parse_csv(text)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise InvalidRatesFile(f"The rates file was not imported: {shown}.")
    if not rows:
        raise InvalidRatesFile("The rates file has no rates.")
    repository.upsert_rates(session, program.id, [_values(row) for row in rows], source)
    return FxImportOut(
        imported=len(rows),
        pairs=sorted({f"{row.base}/{row.quote}" for row in rows}),
        first_date=min(row.day for row in rows),
        last_date=max(row.day for row in rows),
    )


def _values(row: RateRow) -> dict[str, object]:
    return {"base": row.base, "quote": row.quote, "day": row.day, "rate": row.rate}


def rate_on(session: Session, program: Program, base: str, quote: str, on: date) -> tuple[str, date] | None:
    """The rate text in force on `on` for base -> quote (the inverse of quote -> base when only that
    is known), and the day it was set for; None without any."""
    direct = repository.latest_rate(session, program.id, base, quote, on)
    inverse = repository.latest_rate(session, program.id, quote, base, on)
    if direct is not None and (inverse is None or direct.day >= inverse.day):
        return direct.rate, direct.day
    if inverse is not None:
        return f"1/{inverse.rate}", inverse.day
    return None


def to_program_currency(session: Session, program: Program, amount: int, currency: str, at: datetime) -> Conversion:
    """Convert a sale to the program's currency at the latest rate on or before its day (UTC).

    Raises NoExchangeRate, naming the pair, when there is none.
    """
    if currency == program.currency:
        return Conversion(amount, None)
    day = as_utc(at).date()
    found = rate_on(session, program, currency, program.currency, day)
    if found is None:
        raise NoExchangeRate(
            f"No exchange rate from {currency.upper()} to {program.currency.upper()} on or before {day.isoformat()}: "
            f"add one with POST /api/v1/fx-rates (or partnerloop fx import) before tracking this sale."
        )
    rate, _day = found
    return Conversion(convert(amount, currency, program.currency, rate), rate)


def latest(session: Session, program: Program, base: str, quote: str, on: date) -> tuple[str, date]:
    base, quote = normalize_currency(base), normalize_currency(quote)
    found = rate_on(session, program, base, quote, on)
    if found is None:
        raise RateNotFound(f"No exchange rate from {base.upper()} to {quote.upper()} on or before {on.isoformat()}.")
    return found
