"""/manage/goals: the program's SMART goals with their progress and forecast, and a form to set one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.goal import service as goal_service
from partnerloop.goal.rules import GOAL_METRICS, RATES
from partnerloop.goal.schemas import GoalIn
from partnerloop.goal.views import MONEY_METRICS, goal_cards
from partnerloop.group import service as group_service
from partnerloop.kit.errors import AppError
from partnerloop.kit.time import utc_now
from partnerloop.manage.rules import parse_amount
from partnerloop.manage.views.common import page
from partnerloop.models import Program
from partnerloop.partner import service as partner_service
from partnerloop.report import service as report_service
from partnerloop.report.metrics import METRICS
from partnerloop.web.forms import PostedForm, text
from partnerloop.web.pages import money_formatter

router = APIRouter(include_in_schema=False)


def _day(value: str, *, end: bool = False) -> datetime | None:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, tzinfo=UTC)


def _scope(session: Session, form: Any, program: Program) -> str:
    """The form's scope: '', group:ID or partner:ID (a partner given by email when the program has too many
    partners to list)."""
    scope = text(form, "scope")
    if scope != "partner-email":
        return scope
    email = text(form, "partner_email")
    if not email:
        raise ValueError("partner_email: give the partner's email.")
    partner = partner_service.partner_by_email(session, program.workspace_id, email)
    if partner is None:
        raise ValueError(f"partner_email: no partner has the email {email} in this program.")
    return f"partner:{partner.id}"


def _goal_in(session: Session, form: Any, program: Program, now: datetime) -> GoalIn:
    """The form as the API's body: rates are typed as percentages, revenue as an amount."""
    metric = text(form, "metric")
    scope = _scope(session, form, program)
    start = _day(text(form, "start")) if text(form, "start") else now
    end_text = text(form, "end")
    end = _day(end_text, end=True) if end_text else None
    if end is None:
        raise ValueError("end: give the goal's last day (YYYY-MM-DD).")
    if start is None:
        raise ValueError("start: a day is written YYYY-MM-DD.")
    raw = text(form, "target")
    target: Any
    try:
        if text(form, "target_kind") == "relative":
            target = {"relative_pct": Decimal(raw)}
        elif metric in MONEY_METRICS:
            target = parse_amount(raw, program.currency)
        elif metric in RATES:
            target = Decimal(raw.rstrip("% ")) / 100
        else:
            target = Decimal(raw)
    except (InvalidOperation, ValueError):
        raise ValueError(f"target: '{raw}' is not a number.") from None
    if isinstance(target, Decimal):
        target = float(target) if metric in RATES else (int(target) if target == int(target) else float(target))
    elif isinstance(target, dict):
        target = {"relative_pct": float(target["relative_pct"])}
    return GoalIn(
        name=text(form, "name") or "Goal",
        metric=metric,
        target=target,
        start=start,
        end=end,
        partner_id=scope.removeprefix("partner:") if scope.startswith("partner:") else None,
        group_id=scope.removeprefix("group:") if scope.startswith("group:") else None,
    )


def _goals_page(
    request: Request, ctx: ManagerContext, *, error: str | None = None, status_code: int = 200, form: Any = None
) -> Response:
    now = utc_now()
    goals, _cursor = goal_service.list_goals(ctx.session, ctx.program, limit=100)
    partners = sorted(report_service.partner_names(ctx.session, ctx.program).items(), key=lambda item: item[1][0])
    by_email = len(partners) > PARTNER_CHOICES  # thousands of options make a page of a megabyte
    return page(
        request,
        ctx,
        "manage/goals.html",
        {
            "cards": goal_cards(ctx.session, ctx.program, goals, now, money_formatter(request)),
            "metrics": [(name, METRICS[name]) for name in GOAL_METRICS],
            "groups": group_service.groups_by_name(ctx.session, ctx.program.id),
            "partners": [] if by_email else partners,
            "partner_by_email": by_email,
            "error": error,
            "form": form or {},
            "today": now.date().isoformat(),
            "six_months": (now.date() + timedelta(days=182)).isoformat(),
        },
        status_code,
    )


PARTNER_CHOICES = 200  # partners listed in the form's "For" choice; beyond, a partner is given by email


@router.get("/manage/goals")
def goals(request: Request, ctx: ManagerPage) -> Response:
    return _goals_page(request, ctx)


@router.post("/manage/goals")
def create_goal(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    now = utc_now()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        body = _goal_in(ctx.session, form, ctx.program, now)
        goal = goal_service.create_goal(ctx.session, ctx.program, body, now, actor=ctx.user.email)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ()))
        return _goals_page(request, ctx, error=f"{where}: {problem.get('msg')}", status_code=422, form=fields)
    except ValueError as error:
        return _goals_page(request, ctx, error=str(error), status_code=422, form=fields)
    except AppError as error:
        ctx.session.rollback()
        return _goals_page(request, ctx, error=error.message, status_code=error.status_code, form=fields)
    return redirect(request, ctx.url("/manage/goals"), notice=f"Goal “{goal.name}” set.")
