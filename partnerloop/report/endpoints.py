"""GET /api/v1/reports/attribution?from=&to=: a window's sales under every attribution model."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from partnerloop.conversion.multitouch import DEFAULT_HALF_LIFE_DAYS
from partnerloop.deps import Api
from partnerloop.kit.errors import InvalidInput
from partnerloop.report.attribution import attribution_report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

MAX_WINDOW_DAYS = 731


class InvalidReportWindow(InvalidInput):
    pass


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/attribution")
def attribution(
    api: Api,
    start: datetime = Query(alias="from"),
    end: datetime = Query(alias="to"),
    half_life_days: float = Query(default=DEFAULT_HALF_LIFE_DAYS, gt=0, le=365),
) -> JSONResponse:
    """Per partner, each model's credited conversions (basis points), revenue and commission."""
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise InvalidReportWindow("'to' must be after 'from'.")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise InvalidReportWindow(f"The window may span at most {MAX_WINDOW_DAYS} days.")
    report = attribution_report(api.session, api.program, start, end, half_life_days)
    body = report.model_dump(mode="json")
    body["from"] = body.pop("from_")
    return JSONResponse(body)
