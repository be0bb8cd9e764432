"""Exchange rates: record them (one by one or from a CSV of daily rates) and convert sales with them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from partnerloop.fx import repository
from partnerloop.fx.rules import EcbRates, RateRow, check_pair, convert, cross_rate, parse_csv, parse_rate, rate_text
from partnerloop.fx.schemas import FxImportOut, FxRateIn, FxRateOut
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.money import normalize_currency
from partnerloop.kit.time import as_utc
from partnerloop.models import FxRate, Program

# The job (conversion/tasks.py) that prices the sales recorded while their currency had no rate; enqueued
# in the transaction that records new rates, so a rate that arrives always prices what waited for it.
PRICE_WAITING_SALES_JOB = "conversion.price_waiting_sales"
ECB_SOURCE = "ecb"


class InvalidRate(InvalidInput):
    pass


class InvalidRatesFile(InvalidInput):
    pass


class NoExchangeRate(InvalidInput):
    """A sale in another currency and no rate to convert it: 422, nothing written."""


class RateNotFound(NotFound):
    pass


EURO = "eur"


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
    rates_arrived(session, program.id)
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
    rates_arrived(session, program.id)
    return FxImportOut(
        imported=len(rows),
        pairs=sorted({f"{row.base}/{row.quote}" for row in rows}),
        first_date=min(row.day for row in rows),
        last_date=max(row.day for row in rows),
    )


def record_ecb_rates(session: Session, rates: EcbRates) -> list[str]:
    """Record the ECB's rates of one day (EUR -> X, source "ecb") for every program that lacks them;
    a rate a program set for that pair and day stands. Returns the programs that got new rates: none
    when the day was recorded already, so running it again changes nothing."""
    changed = repository.insert_missing_rates(
        session, repository.all_program_ids(session), [_values(row) for row in rates.rows], ECB_SOURCE
    )
    if changed:
        enqueue(session, PRICE_WAITING_SALES_JOB, {})  # one job for all programs: most have no waiting sale
    return changed


def rates_arrived(session: Session, program_id: str) -> None:
    """New rates of a program: price its sales that waited for one (in this transaction)."""
    enqueue(session, PRICE_WAITING_SALES_JOB, {"program_id": program_id}, program_id=program_id)


def _values(row: RateRow) -> dict[str, object]:
    return {"base": row.base, "quote": row.quote, "day": row.day, "rate": row.rate}


def rate_on(session: Session, program: Program, base: str, quote: str, on: date) -> tuple[str, date] | None:
    """The rate text in force on `on` for base -> quote, and the day it was set for; None without any.

    Of the pair itself, its inverse (quote -> base) and the cross through the euro (EUR -> quote over
    EUR -> base, as the ECB publishes them) the latest wins; on one day, in that order.
    """
    candidates: list[tuple[date, int, str]] = []
    direct = repository.latest_rate(session, program.id, base, quote, on)
    if direct is not None:
        candidates.append((direct.day, 3, direct.rate))
    inverse = repository.latest_rate(session, program.id, quote, base, on)
    if inverse is not None:
        candidates.append((inverse.day, 2, f"1/{inverse.rate}"))
    if EURO not in (base, quote):
        to_base = repository.latest_rate(session, program.id, EURO, base, on)
        to_quote = repository.latest_rate(session, program.id, EURO, quote, on) if to_base is not None else None
        if to_base is not None and to_quote is not None:
            candidates.append((min(to_base.day, to_quote.day), 1, cross_rate(to_base.rate, to_quote.rate)))
    if not candidates:
        return None
    day, _preference, rate = max(candidates)
    return rate, day


def to_program_currency(session: Session, program: Program, amount: int, currency: str, at: datetime) -> Conversion:
    """Convert a sale to the program's currency at the latest rate on or before its day (UTC).

    Raises NoExchangeRate, naming the pair, when there is none.
    """
    conversion = try_to_program_currency(session, program, amount, currency, at)
    if conversion is None:
        raise NoExchangeRate(missing_rate(program, currency, at) + ".")
    return conversion


def try_to_program_currency(
    session: Session, program: Program, amount: int, currency: str, at: datetime
) -> Conversion | None:
    """Like to_program_currency; None when there is no rate yet."""
    if currency == program.currency:
        return Conversion(amount, None)
    found = rate_on(session, program, currency, program.currency, as_utc(at).date())
    if found is None:
        return None
    rate, _day = found
    return Conversion(convert(amount, currency, program.currency, rate), rate)


def missing_rate(program: Program, currency: str, at: datetime) -> str:
    """'No exchange rate from JPY to USD on or before 2026-01-04' (no full stop)."""
    day = as_utc(at).date().isoformat()
    return f"No exchange rate from {currency.upper()} to {program.currency.upper()} on or before {day}"


def latest(session: Session, program: Program, base: str, quote: str, on: date) -> tuple[str, date]:
    base, quote = normalize_currency(base), normalize_currency(quote)
    found = rate_on(session, program, base, quote, on)
    if found is None:
        raise RateNotFound(f"No exchange rate from {base.upper()} to {quote.upper()} on or before {on.isoformat()}.")
    return found
