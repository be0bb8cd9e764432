"""GET /api/v1/reports/attribution, /partners, /timeseries and /channels (each also as CSV)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from partnerloop.conversion.multitouch import DEFAULT_HALF_LIFE_DAYS
from partnerloop.deps import Api
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.time import utc_now
from partnerloop.report import service as report_service
from partnerloop.report.attribution import attribution_report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

MAX_WINDOW_DAYS = 731


class InvalidReportWindow(InvalidInput):
    pass


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/attribution", summary="Report attribution by model")
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


# ------------------------------------------------------------------ partners, time series, channels


def _wants_csv(request: Request, suffix: str) -> bool:
    return suffix == ".csv" or "text/csv" in request.headers.get("accept", "")


def _answer(request: Request, suffix: str, body: dict[str, Any], as_csv: Callable[[dict[str, Any]], str],
            name: str) -> Response:  # fmt: skip
    if suffix not in ("", ".csv"):
        raise NotFound("No such endpoint.")
    if _wants_csv(request, suffix):
        return Response(
            as_csv(body), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )  # fmt: skip
    return JSONResponse(body)


@router.get("/partners{suffix:path}", summary="Report figures per partner")
def partners(
    request: Request,
    api: Api,
    suffix: str = "",
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
    group_id: str | None = None,
) -> Response:
    """Per partner: clicks, conversions, revenue, commissions and every ratio of the window; totals."""
    window = report_service.window_of(start, end, utc_now())
    body = report_service.partners_report(api.session, api.program, window, group_id)
    return _answer(request, suffix, body, report_service.partners_csv, "partners")


@router.get("/timeseries{suffix:path}", summary="Report a metric over time")
def timeseries(
    request: Request,
    api: Api,
    suffix: str = "",
    metric: str = "revenue",
    interval: str = "day",
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
    group_id: str | None = None,
    partner_id: str | None = None,
) -> Response:
    """One metric per day, week or month, with the same-length previous period beside it."""
    window = report_service.window_of(start, end, utc_now())
    body = report_service.timeseries_report(
        api.session, api.program, window, metric, interval, group_id=group_id, partner_id=partner_id
    )
    return _answer(request, suffix, body, report_service.timeseries_csv, f"timeseries-{metric}")


@router.get("/channels{suffix:path}", summary="Report figures per channel")
def channels(
    request: Request,
    api: Api,
    suffix: str = "",
    by: str = "link",
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
    group_id: str | None = None,
) -> Response:
    """The figures per link, UTM source / medium / campaign, or credit source (coupon vs link)."""
    window = report_service.window_of(start, end, utc_now())
    body = report_service.channels_report(api.session, api.program, window, by, group_id)
    return _answer(request, suffix, body, report_service.channels_csv, f"channels-{by}")


@router.get("/cohorts{suffix:path}", summary="Report customer cohorts")
def cohorts(
    request: Request,
    api: Api,
    suffix: str = "",
    start: datetime | None = Query(default=None, alias="from"),
    end: datetime | None = Query(default=None, alias="to"),
    group_id: str | None = None,
) -> Response:
    """Customers by the month of their first sale; each cohort's net revenue and LTV month by month."""
    window = report_service.window_of(start, end, utc_now())
    body = report_service.cohorts_report(api.session, api.program, window, group_id)
    return _answer(request, suffix, body, report_service.cohorts_csv, "cohorts")
