"""/manage/plans: plans and groups in forms, with the engine's validation messages on the page."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.conversion.replay import sale_shares
from partnerloop.group import service as group_service
from partnerloop.kit.errors import AppError
from partnerloop.kit.money import format_rate
from partnerloop.kit.time import utc_now
from partnerloop.manage import plan_forms, plan_forms_parts, service
from partnerloop.manage.views.common import page
from partnerloop.models import Plan
from partnerloop.partner import figures as partner_figures
from partnerloop.plan import service as plan_service
from partnerloop.plan import simulation
from partnerloop.plan.schemas import PlanIn, PlanPatch, SimulateIn, SimulationOut
from partnerloop.plan.terms import plan_in_words
from partnerloop.report import metrics
from partnerloop.web.forms import PostedForm, text
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)


def _group_names(ctx: ManagerContext) -> dict[str, str]:
    return {group.id: group.name for group in group_service.groups_by_name(ctx.session, ctx.program.id)}


def _plans_page(
    request: Request,
    ctx: ManagerContext,
    *,
    error: str | None = None,
    group_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    plans = plan_service.plans_of(ctx.session, ctx.program.id)
    names = _group_names(ctx)
    words = {
        plan.id: plan_in_words(plan.rules, ctx.program.currency, bonuses=plan.bonuses or [], group_names=names)
        for plan in plans
    }
    return page(
        request,
        ctx,
        "manage/plans.html",
        {
            "plans": plans,
            "words": words,
            "usage": partner_figures.plan_usage(ctx.session, ctx.program.id),
            "groups": group_service.groups_by_name(ctx.session, ctx.program.id),
            "group_sizes": partner_figures.group_sizes(ctx.session, ctx.program.id),
            "plan_names": {plan.id: plan.name for plan in plans},
            "error": error,
            "group_form": group_form or {"name": "", "plan_id": ""},
        },
        status_code,
    )


@router.get("/manage/plans")
def plans(request: Request, ctx: ManagerPage) -> Response:
    return _plans_page(request, ctx)


def _editor(
    request: Request,
    ctx: ManagerContext,
    *,
    plan: Plan | None,
    name: str,
    rows: list[plan_forms.RuleRow],
    bonus_rows: list[plan_forms_parts.BonusRow],
    problems: list[str],
    status_code: int = 200,
    comparison: dict[str, object] | None = None,
) -> Response:
    return page(
        request,
        ctx,
        "manage/plan.html",
        {
            "plan": plan,
            "name": name,
            "rows": plan_forms.with_blanks(rows),
            "bonus_rows": plan_forms.bonuses_with_blanks(bonus_rows),
            "metrics": plan_forms_parts.METRICS,
            "periods": plan_forms_parts.PERIODS,
            "problems": problems,
            "events": plan_forms.EVENTS,
            "reward_types": plan_forms.REWARD_TYPES,
            "durations": plan_forms.DURATIONS,
            "operators": plan_forms.OPERATORS,
            "fields": plan_forms.CONDITION_FIELDS,
            "words": plan_in_words(
                plan.rules, ctx.program.currency, bonuses=plan.bonuses or [], group_names=_group_names(ctx)
            )
            if plan
            else [],
            "is_default": plan is not None and ctx.program.default_plan_id == plan.id,
            "comparison": comparison,
            "rate": format_rate,
        },
        status_code,
    )


def _plan_or_404(ctx: ManagerContext, plan_id: str) -> Plan:
    found = plan_service.find_plan(ctx.session, ctx.program.id, plan_id)
    if found is None:
        raise PageNotFound("No such plan in this program.")
    return found


@router.get("/manage/plans/new")
def new_plan(request: Request, ctx: ManagerPage) -> Response:
    return _editor(request, ctx, plan=None, name="", rows=[], bonus_rows=[], problems=[])


def _comparison(ctx: ManagerContext, plan: Plan, starts: str | None, to: str | None) -> dict[str, object]:
    """The simulator's comparison for the plan page's GET form: the last 90 days until asked otherwise;
    a bad window is a message, never an error page. Nothing is written."""
    today = utc_now().date()
    shown = {"from": (today - timedelta(days=89)).isoformat(), "to": today.isoformat()}
    if starts is None and to is None:
        return {**shown, "result": None, "error": None}
    shown = {"from": (starts or "").strip(), "to": (to or "").strip()}
    result: SimulationOut | None = None
    error: str | None = None
    try:
        window = SimulateIn(starts=date.fromisoformat(shown["from"]), to=date.fromisoformat(shown["to"]))
        result = simulation.simulate(ctx.session, ctx.program, plan, window, sale_shares)
    except ValueError:  # date.fromisoformat, and pydantic's ValidationError
        error = "Give both dates as YYYY-MM-DD."
    except AppError as problem:
        error = problem.message
    # The page's ROI is report/metrics.py's, (net revenue − commissions) ÷ commissions, like every other page;
    # the API's `roi` field keeps its documented revenue ÷ commissions.
    roi = (
        {
            "current": metrics.roi_text(metrics.roi_of(result.revenue_amount, result.current.commissions_amount)),
            "proposed": metrics.roi_text(metrics.roi_of(result.revenue_amount, result.proposed.commissions_amount)),
        }
        if result is not None
        else {}
    )
    return {**shown, "result": result, "error": error, "roi": roi, "roi_definition": metrics.METRICS["roi"].definition}


@router.get("/manage/plans/{plan_id}")
def edit_plan(
    request: Request,
    ctx: ManagerPage,
    plan_id: str,
    starts: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Response:
    plan = _plan_or_404(ctx, plan_id)
    return _editor(
        request,
        ctx,
        plan=plan,
        name=plan.name,
        rows=plan_forms.rows_from_rules(plan.rules, ctx.program.currency),
        bonus_rows=plan_forms_parts.bonus_rows(plan.bonuses, ctx.program.currency),
        problems=[],
        comparison=_comparison(ctx, plan, starts, to),
    )


def _save(request: Request, ctx: ManagerContext, form: FormData, plan: Plan | None) -> Response:
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    parsed = plan_forms.rules_from_form(fields, list(plan.rules) if plan else [], ctx.program.currency)
    problems = list(parsed.problems)
    if not parsed.name:
        problems.insert(0, "Give the plan a name.")
    saved: Plan | None = None
    body: dict[str, object] = {"name": parsed.name, "rules": parsed.rules}
    if parsed.bonuses is not None:  # a form without the bonus section leaves the plan's bonuses as they are
        body["bonuses"] = parsed.bonuses
    if not problems:
        try:
            with ctx.session.begin_nested():
                if plan is None:
                    saved = plan_service.create_plan(ctx.session, ctx.program, PlanIn.model_validate(body))
                else:
                    saved = plan_service.update_plan(ctx.session, ctx.program, plan.id, PlanPatch.model_validate(body))
        except ValidationError as error:
            problems.append(plan_forms.readable(service.describe_validation(error)))
        except AppError as error:
            problems.extend(plan_forms.readable(part.strip()) for part in error.message.rstrip(".").split("; "))
    if problems or saved is None:
        bonus_rows = (
            parsed.bonus_rows
            if parsed.bonuses is not None
            else plan_forms_parts.bonus_rows(plan.bonuses if plan else [], ctx.program.currency)
        )
        return _editor(
            request,
            ctx,
            plan=plan,
            name=parsed.name,
            rows=parsed.rows,
            bonus_rows=bonus_rows,
            problems=problems,
            status_code=422,
        )
    if text(form, "make_default") and ctx.program.default_plan_id != saved.id:
        ctx.program.default_plan_id = saved.id
    return redirect(request, ctx.url(f"/manage/plans/{saved.id}"), notice=f"Plan “{saved.name}” saved.")


@router.post("/manage/plans/new")
def create_plan(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    return _save(request, ctx, form, None)


@router.post("/manage/plans/{plan_id}")
def update_plan(request: Request, ctx: ManagerAction, form: PostedForm, plan_id: str) -> Response:
    return _save(request, ctx, form, _plan_or_404(ctx, plan_id))


@router.post("/manage/plans/{plan_id}/default")
def make_default(request: Request, ctx: ManagerAction, plan_id: str) -> Response:
    plan = _plan_or_404(ctx, plan_id)
    ctx.program.default_plan_id = plan.id
    return redirect(request, ctx.url("/manage/plans"), notice=f"“{plan.name}” is now the program's default plan.")


# ---------------------------------------------------------------------------------------- groups


@router.post("/manage/groups")
def save_group(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    values = {"name": text(form, "name"), "plan_id": text(form, "plan_id")}
    group_id = text(form, "group_id")
    try:
        with ctx.session.begin_nested():
            group = service.save_group(
                ctx.session, ctx.program, group_id=group_id, name=values["name"], plan_id=values["plan_id"]
            )
    except AppError as error:
        return _plans_page(
            request,
            ctx,
            error=error.message,
            group_form=values if not group_id else None,
            status_code=error.status_code,
        )
    return redirect(request, ctx.url("/manage/plans") + "#groups", notice=f"Group “{group.name}” saved.")
