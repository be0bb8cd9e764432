"""Reports: per partner, per channel and over time, each figure defined once in `report/metrics.py`."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.kit import spreadsheet
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.models import Program
from partnerloop.report import repository
from partnerloop.report.dimensions import DIMENSIONS
from partnerloop.report.metrics import METRICS, Figures, figures_out
from partnerloop.report.rules import (
    Window,
    aware,
    bucketed_figures,
    interval_problem,
    metric_problem,
    window_problem,
)

CHANNELS = ("link", "utm_source", "utm_medium", "utm_campaign", "source", "device", "country", "referrer_host")
DEFAULT_DAYS = 30
LIFETIME_START = datetime(2000, 1, 1, tzinfo=UTC)


class InvalidReportWindow(InvalidInput):
    pass


class UnknownMetric(InvalidInput):
    pass


class UnknownChannel(InvalidInput):
    pass


class GroupNotFound(NotFound):
    pass


def _refuse(problem: tuple[str, str] | None, error: type[InvalidInput]) -> None:
    if problem is not None:
        field, sentence = problem
        raise error(f"{field}: {sentence}")


def window_of(start: datetime | None, end: datetime | None, now: datetime) -> Window:
    """The asked window (default: the 30 days up to now); 422 naming the field when it cannot be reported."""
    end = aware(end) if end is not None else now
    start = aware(start) if start is not None else end - timedelta(days=DEFAULT_DAYS)
    _refuse(window_problem(start, end), InvalidReportWindow)
    return Window(start, end)


def _check_group(session: Session, program: Program, group_id: str | None) -> None:
    if group_id is not None and not repository.group_exists(session, program.id, group_id):
        raise GroupNotFound(f"group_id: no group {group_id} in this program.")


def _is_active(figures: Figures) -> bool:
    return figures.clicks > 0 or figures.leads > 0 or figures.sales > 0


def _total(per_partner: Mapping[str, Figures]) -> Figures:
    """The partners' counts together, active partners counted once each."""
    total = sum(per_partner.values(), Figures())
    return replace(total, active_partners=sum(1 for figures in per_partner.values() if _is_active(figures)))


def window_figures(
    session: Session, program: Program, window: Window, *, group_id: str | None = None, partner_id: str | None = None
) -> Figures:
    """The window's counts over every partner (or a group's, or one partner's), active partners distinct."""
    return _total(repository.partner_figures(session, program, window, group_id=group_id, partner_id=partner_id))


def figures_per_partner(session: Session, program: Program, window: Window) -> dict[str, Figures]:
    """Each partner's counts in the window, from the rollups (partners with nothing are absent)."""
    return repository.partner_figures(session, program, window)


def figures_per_day(
    session: Session, program: Program, window: Window, *, partner_id: str | None = None
) -> dict[date, Figures]:
    """Each UTC day's counts over every partner (or of `partner_id`), from the rollups: the program's own
    row per day when no partner is asked for (days with nothing are absent; no active-partner count)."""
    return repository.day_figures(session, program, window, partner_id=partner_id)


def lifetime_window(now: datetime) -> Window:
    """Everything up to now: from 2000-01-01 (imported histories included) to the end of today, UTC."""
    return Window(LIFETIME_START, datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC))


def partners_clicked(session: Session, program: Program, window: Window) -> set[str]:
    """The partners whose links had at least one human (non-bot) click in the window."""
    per_partner = repository.partner_figures(session, program, window)
    return {partner_id for partner_id, figures in per_partner.items() if figures.clicks > figures.bot_clicks}


def _head(program: Program, window: Window) -> dict[str, Any]:
    return {"from": window.start.isoformat(), "to": window.end.isoformat(), "currency": program.currency}


def partners_report(session: Session, program: Program, window: Window, group_id: str | None = None) -> dict[str, Any]:
    """Every partner with activity in the window, their figures and ratios, the totals."""
    _check_group(session, program, group_id)
    per_partner = repository.partner_figures(session, program, window, group_id=group_id)
    names = repository.partner_names(session, program.id)
    data = []
    for partner, figures in per_partner.items():
        name, email, group = names.get(partner, ("", "", None))
        data.append({"partner_id": partner, "name": name, "email": email, "group_id": group, **figures_out(figures)})
    data.sort(key=lambda row: (-int(row["net_revenue_amount"] or 0), -int(row["clicks"] or 0), str(row["name"])))
    total = _total(per_partner)
    return {
        **_head(program, window),
        "group_id": group_id,
        "data": data,
        "totals": {**figures_out(total), "partners": len(per_partner), "active_partners": total.active_partners},
    }


def _metric_value(metric: str, figures: Figures) -> int | float | None:
    return METRICS[metric].value(figures)


def _series(
    session: Session,
    program: Program,
    window: Window,
    interval: str,
    group_id: str | None,
    partner_id: str | None,
    *,
    per_partner: bool,
) -> tuple[list[tuple[date, Figures]], Figures]:
    """The window's figures per bucket and in all; with `per_partner` (only active partners need it) the
    distinct active partners of each bucket too."""
    if not per_partner:
        per_day = repository.day_figures(session, program, window, group_id=group_id, partner_id=partner_id)
        buckets = bucketed_figures(per_day, window.first_day, window.last_day, interval)
        return buckets, sum(per_day.values(), Figures())
    daily = repository.daily_partner_figures(session, program, window, group_id=group_id, partner_id=partner_id)
    summed: dict[date, Figures] = defaultdict(Figures)
    partners: dict[str, Figures] = defaultdict(Figures)
    for (day, partner), figures in daily.items():
        summed[day] = summed[day] + figures
        partners[partner] = partners[partner] + figures
    buckets = bucketed_figures(summed, window.first_day, window.last_day, interval)
    active: dict[date, set[str]] = defaultdict(set)
    for (day, partner), figures in daily.items():
        if _is_active(figures):
            active[_bucket_of(day, buckets)].add(partner)
    buckets = [(start, replace(figures, active_partners=len(active.get(start, ())))) for start, figures in buckets]
    return buckets, _total(partners)


def _bucket_of(day: date, buckets: Sequence[tuple[date, Figures]]) -> date:
    chosen = buckets[0][0]
    for start, _figures in buckets:
        if start <= day:
            chosen = start
    return chosen


def timeseries_report(
    session: Session,
    program: Program,
    window: Window,
    metric: str,
    interval: str,
    *,
    group_id: str | None = None,
    partner_id: str | None = None,
) -> dict[str, Any]:
    """The metric per bucket, and the same-length previous period's bucket beside each."""
    _refuse(metric_problem(metric), UnknownMetric)
    _refuse(interval_problem(interval), InvalidInput)
    _check_group(session, program, group_id)
    per_partner = metric == "active_partners"
    current, current_total = _series(session, program, window, interval, group_id, partner_id, per_partner=per_partner)
    previous_window = window.previous()
    previous, previous_total = _series(
        session, program, previous_window, interval, group_id, partner_id, per_partner=per_partner
    )
    data = []
    for index, (start, figures) in enumerate(current):
        before = previous[index] if index < len(previous) else None
        data.append({
            "start": start.isoformat(),
            "value": _metric_value(metric, figures),
            "previous_start": before[0].isoformat() if before else None,
            "previous_value": _metric_value(metric, before[1]) if before else None,
        })  # fmt: skip
    return {
        **_head(program, window),
        "metric": metric,
        "label": METRICS[metric].label,
        "definition": METRICS[metric].definition,
        "interval": interval,
        "previous": {"from": previous_window.start.isoformat(), "to": previous_window.end.isoformat()},
        "total": _metric_value(metric, current_total),
        "previous_total": _metric_value(metric, previous_total),
        "data": data,
    }


def channels_report(
    session: Session, program: Program, window: Window, by: str, group_id: str | None = None
) -> dict[str, Any]:
    """The figures per channel: a link, its UTM source / medium / campaign, how conversions were credited
    (`source`: coupon, link, referral code), or the device, country or referrer host of the clicks (and
    of the click that credited each conversion)."""
    if by not in CHANNELS:
        raise UnknownChannel(f"by: one of {', '.join(CHANNELS)}.")
    _check_group(session, program, group_id)
    grouped: dict[str, Figures] = defaultdict(Figures)
    if by in DIMENSIONS:
        grouped.update(repository.dimension_figures(session, program, window, by, group_id))
    elif by == "source":
        grouped.update(repository.source_figures(session, program, window, group_id))
        clicks = window_figures(session, program, window, group_id=group_id)
        grouped["link"] = replace(grouped["link"], clicks=clicks.clicks, unique_clicks=clicks.unique_clicks,
                                  bot_clicks=clicks.bot_clicks)  # fmt: skip
    else:
        per_link = repository.link_figures(session, program, window, group_id)
        links = repository.links(session, program.id)
        for link_id, figures in per_link.items():
            link = links.get(link_id)
            if by == "link":
                name = link.key if link else link_id
            else:
                name = str(((link.utm if link else None) or {}).get(by) or "(none)")
            grouped[name] = grouped[name] + figures
    data = [{"channel": name, **figures_out(figures)} for name, figures in grouped.items()]
    data.sort(key=lambda row: (-int(row["net_revenue_amount"] or 0), -int(row["clicks"] or 0), str(row["channel"])))
    return {**_head(program, window), "by": by, "group_id": group_id, "data": data,
            "totals": figures_out(sum(grouped.values(), Figures()))}  # fmt: skip


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header; None is an empty cell."""
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(column) is None else row.get(column) for column in columns])
    return out.getvalue()


FIGURE_COLUMNS = tuple(figures_out(Figures()).keys())


def partners_csv(report: Mapping[str, Any]) -> str:
    columns = ("partner_id", "name", "email", "group_id", *FIGURE_COLUMNS)
    totals = {"partner_id": "total", **report["totals"]}
    return to_csv([*report["data"], totals], columns)


def channels_csv(report: Mapping[str, Any]) -> str:
    totals = {"channel": "total", **report["totals"]}
    return to_csv([*report["data"], totals], ("channel", *FIGURE_COLUMNS))


def timeseries_csv(report: Mapping[str, Any]) -> str:
    return to_csv(report["data"], ("start", "value", "previous_start", "previous_value"))


def partner_names(session: Session, program: Program) -> dict[str, tuple[str, str, str | None]]:
    """Every enrolled partner of the program: (name, email, group id)."""
    return repository.partner_names(session, program.id)


def cohorts_report(session: Session, program: Program, window: Window, group_id: str | None = None) -> dict[str, Any]:
    """Customers by the month of their first sale, and the net revenue each cohort paid month by month."""
    _check_group(session, program, group_id)
    return {**_head(program, window), "group_id": group_id,
            "data": repository.cohort_rows(session, program, window, group_id)}  # fmt: skip


def cohorts_csv(report: Mapping[str, Any]) -> str:
    """One row per cohort and month since its first sales."""
    rows = [
        {"cohort": cohort["cohort"], "customers": cohort["customers"], **month}
        for cohort in report["data"]
        for month in cohort["months"]
    ]
    return to_csv(rows, ("cohort", "customers", "month", "net_revenue_amount", "ltv_amount"))


def daily_partner_figures(session: Session, program: Program, window: Window) -> dict[tuple[date, str], Figures]:
    """Each (UTC day, partner)'s counts in the window, days with nothing absent (the alerts' performance
    rules compare them)."""
    return repository.daily_partner_figures(session, program, window)
