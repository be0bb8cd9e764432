"""/manage/reports: the partners table (sortable, filterable by group, with totals), a time series of any
figure against the previous period, and the channels; each also as CSV. Definitions on hover."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerContext, ManagerPage
from partnerloop.group import service as group_service
from partnerloop.kit.money import format_money
from partnerloop.kit.time import utc_now
from partnerloop.manage.rules import PERIOD_CHOICES, parse_period
from partnerloop.manage.views.common import page
from partnerloop.report import service as report_service
from partnerloop.report.metrics import METRICS, roi_text
from partnerloop.report.rules import INTERVALS, Window
from partnerloop.web.charts import comparison_chart_svg
from partnerloop.web.pages import apply_security_headers, money_formatter

router = APIRouter(include_in_schema=False)

# The partners table's columns: (field in the report, metric whose definition is the header's title).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("clicks", "clicks"), ("unique_clicks", "unique_clicks"), ("leads", "leads"), ("sales", "sales"),
    ("new_customers", "new_customers"), ("revenue_amount", "revenue"), ("refunds_amount", "refunds"),
    ("net_revenue_amount", "net_revenue"), ("commissions_amount", "commissions"),
    ("conversion_rate", "conversion_rate"), ("lead_to_sale_rate", "lead_to_sale_rate"), ("epc_amount", "epc"),
    ("cpa_amount", "cpa"), ("roi", "roi"), ("average_value_amount", "average_value"),
    ("commission_share", "commission_share"),
)  # fmt: skip
SORTABLE = {"name", *(field for field, _metric in COLUMNS)}
CHANNEL_LABELS = {"link": "Link", "utm_source": "UTM source", "utm_medium": "UTM medium",
                  "utm_campaign": "UTM campaign", "source": "Coupon vs link", "device": "Device",
                  "country": "Country", "referrer_host": "Referrer host"}  # fmt: skip


def figure_text(field: str, value: Any, currency: str, money: Callable[[int, str], str] = format_money) -> str:
    """A report figure as the page shows it: money, a percentage, a multiple, or a count; — for null."""
    if value is None:
        return "—"
    if field.endswith("_amount"):
        return money(int(value), currency)
    if field == "roi":
        return roi_text(float(value))
    if field in ("conversion_rate", "lead_to_sale_rate", "commission_share", "refund_rate", "bot_share"):
        return f"{float(value) * 100:.1f} %"
    return f"{int(value):,}"


def metric_text(metric: str, value: Any, currency: str, money: Callable[[int, str], str] = format_money) -> str:
    kind = METRICS[metric].kind
    field = metric + "_amount" if kind in ("money", "money_ratio") else metric
    return figure_text(field, value, currency, money)


def _window(days: str | None, start: str | None, end: str | None) -> tuple[Any, Window, str | None]:
    period, error = parse_period(days, start, end, utc_now().date())
    return period, Window(period.starts_at, period.ends_before), error


def _sorted(rows: list[dict[str, Any]], sort: str, direction: str) -> list[dict[str, Any]]:
    if sort not in SORTABLE:
        return rows
    present = [row for row in rows if row.get(sort) is not None]
    missing = [row for row in rows if row.get(sort) is None]
    key = (lambda row: str(row["name"]).lower()) if sort == "name" else (lambda row: row[sort])
    present.sort(key=key, reverse=direction != "asc")
    return present + missing  # nulls last either way


def _group(ctx: ManagerContext, group_id: str) -> str | None:
    groups = {group.id for group in group_service.groups_by_name(ctx.session, ctx.program.id)}
    return group_id if group_id in groups else None


PARTNER_ROWS = 200  # partners listed on the page, in the sorted order; the CSV has every one


@router.get("/manage/reports")
def reports(
    request: Request,
    ctx: ManagerPage,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    group_id: str = "",
    sort: str = "net_revenue_amount",
    dir: str = "desc",
    metric: str = "revenue",
    interval: str = "day",
    by: str = "link",
) -> Response:
    program = ctx.program
    period, window, period_error = _window(days, start, end)
    group = _group(ctx, group_id)
    partners = report_service.partners_report(ctx.session, program, window, group)
    metric = metric if metric in METRICS else "revenue"
    interval = interval if interval in INTERVALS else "day"
    by = by if by in report_service.CHANNELS else "link"
    series = report_service.timeseries_report(ctx.session, program, window, metric, interval, group_id=group)
    channels = report_service.channels_report(ctx.session, program, window, by, group)
    cohorts = report_service.cohorts_report(ctx.session, program, window, group)["data"]
    money = money_formatter(request)
    chart = comparison_chart_svg(
        [(date.fromisoformat(point["start"]), point["value"], point["previous_value"]) for point in series["data"]],
        title=f"{METRICS[metric].label} per {interval}",
        label=lambda value: metric_text(metric, value, program.currency, money),
        unit=interval,
        value_unit=program.currency.upper()
        if METRICS[metric].kind in ("money", "money_ratio")
        else METRICS[metric].label,
        empty_text=f"No {METRICS[metric].label.lower()} in this period",
    )
    query = {"days": days, "start": start, "end": end, "group_id": group or "", "metric": metric,
             "interval": interval, "by": by}  # fmt: skip

    def sort_url(field: str) -> str:
        """The column header's link: this column, the other way round when it is the sorted one."""
        first = "asc" if field == "name" else "desc"
        flipped = {"asc": "desc", "desc": "asc"}[first]
        return ctx.url("/manage/reports", **query, sort=field, dir=flipped if sort == field and dir == first else first)

    return page(
        request,
        ctx,
        "manage/reports.html",
        {
            "period": period,
            "period_error": period_error,
            "days": days if days and not (start or end) else ("" if start or end else "30"),
            "choices": PERIOD_CHOICES,
            "groups": group_service.groups_by_name(ctx.session, program.id),
            "group_id": group or "",
            "columns": [(field, METRICS[name]) for field, name in COLUMNS],
            "rows": _sorted(partners["data"], sort, dir)[:PARTNER_ROWS],
            "more_rows": max(0, len(partners["data"]) - PARTNER_ROWS),
            "totals": partners["totals"],
            "sort": sort,
            "dir": dir,
            "query": query,
            "sort_url": sort_url,
            "figure": lambda field, value: figure_text(field, value, program.currency, money),
            "metrics": METRICS,
            "metric": metric,
            "intervals": INTERVALS,
            "interval": interval,
            "series": series,
            "series_total": metric_text(metric, series["total"], program.currency, money),
            "series_previous_total": metric_text(metric, series["previous_total"], program.currency, money),
            "chart": chart,
            "channel_labels": CHANNEL_LABELS,
            "by": by,
            "channels": channels,
            "cohorts": cohorts,
            "cohort_months": min(12, max((len(cohort["months"]) for cohort in cohorts), default=0)),
        },
    )


def _csv(request: Request, name: str, text: str) -> Response:
    response = Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})  # fmt: skip
    apply_security_headers(request, response)
    return response


@router.get("/manage/reports/partners.csv")
def partners_csv(
    request: Request,
    ctx: ManagerPage,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    group_id: str = "",
) -> Response:
    """The partners table as CSV, with its totals row (the API answers the same with a key)."""
    _period, window, _error = _window(days, start, end)
    report = report_service.partners_report(ctx.session, ctx.program, window, _group(ctx, group_id))
    return _csv(request, "partners", report_service.partners_csv(report))


@router.get("/manage/reports/timeseries.csv")
def timeseries_csv(
    request: Request,
    ctx: ManagerPage,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    group_id: str = "",
    metric: str = "revenue",
    interval: str = "day",
) -> Response:
    _period, window, _error = _window(days, start, end)
    report = report_service.timeseries_report(
        ctx.session, ctx.program, window, metric if metric in METRICS else "revenue",
        interval if interval in INTERVALS else "day", group_id=_group(ctx, group_id),
    )  # fmt: skip
    return _csv(request, f"timeseries-{report['metric']}", report_service.timeseries_csv(report))


@router.get("/manage/reports/cohorts.csv")
def cohorts_csv(
    request: Request,
    ctx: ManagerPage,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    group_id: str = "",
) -> Response:
    _period, window, _error = _window(days, start, end)
    report = report_service.cohorts_report(ctx.session, ctx.program, window, _group(ctx, group_id))
    return _csv(request, "cohorts", report_service.cohorts_csv(report))


@router.get("/manage/reports/channels.csv")
def channels_csv(
    request: Request,
    ctx: ManagerPage,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    group_id: str = "",
    by: str = "link",
) -> Response:
    _period, window, _error = _window(days, start, end)
    by = by if by in report_service.CHANNELS else "link"
    report = report_service.channels_report(ctx.session, ctx.program, window, by, _group(ctx, group_id))
    return _csv(request, f"channels-{by}", report_service.channels_csv(report))
