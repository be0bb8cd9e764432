"""/manage: the program's KPIs against the previous period, charts, top partners, approvals, activity."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerPage
from partnerloop.alert import service as alert_service
from partnerloop.goal import service as goal_service
from partnerloop.goal.views import goal_cards
from partnerloop.kit.time import utc_now
from partnerloop.manage import figures
from partnerloop.manage.rules import PERIOD_CHOICES, kpis, parse_period, setup_steps
from partnerloop.manage.views.common import page
from partnerloop.web.charts import bar_chart_svg, bucketed, daily_series
from partnerloop.web.pages import money_formatter

router = APIRouter(include_in_schema=False)


@router.get("/manage")
def overview(
    request: Request, ctx: ManagerPage, days: str | None = None, start: str | None = None, end: str | None = None
) -> Response:
    period, period_error = parse_period(days, start, end, utc_now().date())
    previous = period.previous()
    program = ctx.program
    daily = figures.by_day(ctx.session, program, period)
    current_totals = daily.totals
    previous_totals = figures.by_day(ctx.session, program, previous).totals
    clicks = daily_series(daily.clicks, period.start, period.end)
    revenue = daily_series(daily.revenue, period.start, period.end)
    clicks, unit = bucketed(clicks)
    revenue, _unit = bucketed(revenue)
    commission_counts = figures.commission_counts(ctx.session, program.id)
    now = utc_now()
    goals, _cursor = goal_service.list_goals(ctx.session, program, limit=100)
    running = [goal for goal in goals if goal.ends_at > now or goal.achieved_at is not None][:6]
    open_alerts, _more = alert_service.list_alerts(ctx.session, program, status="open", limit=100)
    money = money_formatter(request)
    steps = setup_steps(figures.setup_facts(ctx.session, program))
    return page(
        request,
        ctx,
        "manage/overview.html",
        {
            "period": period,
            "previous": previous,
            "period_error": period_error,
            "days": days if days and not (start or end) else ("" if start or end else "30"),
            "choices": PERIOD_CHOICES,
            "kpis": kpis(current_totals, previous_totals, program.currency, money),
            "other_currencies": figures.other_currency_commissions(ctx.session, program, period),
            "unit": unit,
            "clicks_chart": bar_chart_svg(
                clicks, title=f"Clicks per {unit}", unit=unit, empty_text="No clicks in this period"
            ),
            "revenue_chart": bar_chart_svg(
                revenue,
                title=f"Revenue from partners per {unit}",
                label=lambda value: money(value, program.currency),
                unit=unit,
                value_unit=program.currency.upper(),
                empty_text="No revenue from partners in this period",
            ),
            "top_partners": figures.top_partners(ctx.session, program, period),
            "pending_applications": figures.count_enrollments(ctx.session, program.id, "pending"),
            "pending_commissions": commission_counts.get("pending", 0),
            "held_commissions": commission_counts.get("on_hold", 0),
            "activity": figures.recent_activity(ctx.session, program.id),
            "goal_cards": goal_cards(ctx.session, program, running, now, money),
            "open_alerts": len(open_alerts),
            "fraud_alerts": sum(1 for alert in open_alerts if alert.category == "fraud"),
            "setup_steps": steps if not all(step.done for step in steps) else [],
        },
    )
