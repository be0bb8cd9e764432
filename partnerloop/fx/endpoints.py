"""Exchange rates: POST/GET /api/v1/fx-rates, a CSV import, and the rate in force on a day."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from partnerloop.deps import Api
from partnerloop.fx import repository, service
from partnerloop.fx.schemas import FxImportOut, FxRateIn, FxRateList, FxRateOut
from partnerloop.kit.money import normalize_currency

router = APIRouter(prefix="/api/v1/fx-rates", tags=["fx"])
MAX_CSV_BYTES = 10 * 1024 * 1024


class RateInForce(BaseModel):
    base: str
    quote: str
    on: dt.date
    rate: str  # "1/<rate>" when the inverse of the opposite pair is used
    date: dt.date  # the day the rate was set for


@router.post("", summary="Record an exchange rate", status_code=201)
def record_rate(body: FxRateIn, api: Api) -> FxRateOut:
    """Record the rate of one pair and day (1 base = rate quote); the same pair and day again replaces it."""
    return service.rate_out(service.record_rate(api.session, api.program, body))


@router.post("/import", summary="Import exchange rates from CSV")
async def import_rates(request: Request, api: Api) -> FxImportOut:
    """A CSV body (text/csv) with the columns date,base,quote,rate; taken whole or not at all."""
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise service.InvalidRatesFile(f"The rates file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise service.InvalidRatesFile("The rates file is not UTF-8 text.")
    return service.import_csv(api.session, api.program, text, source="api-csv")


@router.get("", summary="List exchange rates")
def list_rates(
    api: Api,
    base: str | None = None,
    quote: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> FxRateList:
    rows, next_cursor = repository.list_rates(
        api.session,
        api.program.id,
        base=normalize_currency(base) if base else None,
        quote=normalize_currency(quote) if quote else None,
        cursor=cursor,
        limit=limit,
    )
    return FxRateList(data=[service.rate_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/latest", summary="Get the exchange rate in force")
def rate_in_force(api: Api, base: str, quote: str, on: dt.date) -> RateInForce:
    """The rate a sale of day `on` in `base` would be converted to `quote` with."""
    rate, day = service.latest(api.session, api.program, base, quote, on)
    return RateInForce(base=base.lower(), quote=quote.lower(), on=on, rate=rate, date=day)
