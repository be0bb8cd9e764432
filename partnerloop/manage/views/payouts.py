"""/manage/payouts: who a run pays now and who not (and why), confirming a run with a delivery choice per
method, the PayPal / Wise CSVs, marking payouts paid or failed, retries, run history and the schedule."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from partnerloop.account.deps import ManagerAction, ManagerAdmin, ManagerContext, ManagerPage, redirect
from partnerloop.kit.errors import AppError
from partnerloop.kit.ids import new_id
from partnerloop.manage.service import describe_validation
from partnerloop.manage.views.common import page
from partnerloop.payout.schemas import PayoutSettingsIn
from partnerloop.payout.service import board, export, methods
from partnerloop.payout.service import run as runs
from partnerloop.web.forms import PostedForm, settings_of, text, texts
from partnerloop.web.pages import apply_security_headers

router = APIRouter(include_in_schema=False)


def _payouts_page(
    request: Request, ctx: ManagerContext, *, error: str | None = None, status_code: int = 200
) -> Response:
    found = board.payout_board(ctx.session, settings_of(request), ctx.program)
    return page(
        request,
        ctx,
        "manage/payouts.html",
        {"board": found, "labels": board.METHOD_LABELS, "error": error},
        status_code,
    )


def _failed(request: Request, ctx: ManagerContext, error: AppError) -> Response:
    return _payouts_page(request, ctx, error=error.message, status_code=error.status_code)


@router.get("/manage/payouts")
def payouts(request: Request, ctx: ManagerPage) -> Response:
    return _payouts_page(request, ctx)


@router.post("/manage/payouts/run")
def confirm_run(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    """Confirm the previewed run. The run key comes from the preview, so a second click changes nothing."""
    settings = settings_of(request)
    offered = texts(form, "offered")
    choices = {method: text(form, f"delivery_{method}") for method in board.METHOD_LABELS}
    try:
        csv_methods = board.csv_methods_from_choice(ctx.session, settings, ctx.program.id, offered, choices)
        run = runs.confirm_run(
            ctx.session,
            ctx.program,
            run_key=text(form, "run_key")[:200] or f"manual:{new_id()}",
            actor=f"user:{ctx.user.email}",
            settings=settings,
            csv_methods=csv_methods,
        )
    except AppError as error:
        return _failed(request, ctx, error)
    count = len(runs.run_out(ctx.session, run).payouts)
    notice = f"Payout run confirmed: {count} payout{'' if count == 1 else 's'}."
    return redirect(request, ctx.url("/manage/payouts") + f"#run-{run.id}", notice=notice)


@router.post("/manage/payouts/mark-paid")
def mark_paid(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    try:
        done, problems = board.mark_paid_many(
            ctx.session, ctx.program, texts(form, "payout_ids"), text(form, "reference")
        )
    except AppError as error:
        return _failed(request, ctx, error)
    notice = f"{done} payout{'' if done == 1 else 's'} marked paid."
    if problems:
        notice += f" {len(problems)} not: " + " ".join(problems[:3])
    return redirect(request, ctx.url("/manage/payouts"), notice=notice)


@router.post("/manage/payouts/{payout_id}/fail")
def mark_failed(request: Request, ctx: ManagerAction, payout_id: str, form: PostedForm) -> Response:
    reason = text(form, "reason")
    if not reason:
        return _payouts_page(request, ctx, error="reason: say why the payout failed.", status_code=422)
    try:
        runs.mark_failed(ctx.session, ctx.program, payout_id, reason[:1000], actor=f"user:{ctx.user.email}")
    except AppError as error:
        return _failed(request, ctx, error)
    notice = "Payout marked failed: its commissions are back in the partner's balance."
    return redirect(request, ctx.url("/manage/payouts"), notice=notice)


@router.post("/manage/payouts/{payout_id}/retry")
def retry(request: Request, ctx: ManagerAction, payout_id: str) -> Response:
    try:
        payout = runs.retry(
            ctx.session, ctx.program, payout_id, actor=f"user:{ctx.user.email}", settings=settings_of(request)
        )
    except AppError as error:
        return _failed(request, ctx, error)
    how = "sent through the provider" if payout.delivery == "api" else "waiting to be paid from the CSV"
    return redirect(request, ctx.url("/manage/payouts"), notice=f"Payout retried: a new payout is {how}.")


@router.post("/manage/payouts/{payout_id}/cancel")
def cancel(request: Request, ctx: ManagerAction, payout_id: str) -> Response:
    try:
        runs.cancel(ctx.session, ctx.program, payout_id, actor=f"user:{ctx.user.email}")
    except AppError as error:
        return _failed(request, ctx, error)
    return redirect(request, ctx.url("/manage/payouts"), notice="Payout canceled: its commissions are back.")


@router.get("/manage/payouts/runs/{run_id}/export.csv")
def export_run(request: Request, ctx: ManagerPage, run_id: str, format: str = "paypal", currency: str = "") -> Response:
    """The run's payouts waiting for CSV, as PayPal's or Wise's bulk file."""
    try:
        body = export.export_run(ctx.session, settings_of(request), ctx.program, run_id, format, currency or None)
    except AppError as error:
        return _failed(request, ctx, error)
    suffix = f"-{currency.lower()}" if currency else ""
    response = Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="payouts-{run_id}-{format}{suffix}.csv"'},
    )
    apply_security_headers(request, response)
    return response


@router.post("/manage/payouts/settings")
def save_schedule(request: Request, ctx: ManagerAdmin, form: PostedForm) -> Response:
    try:
        body = PayoutSettingsIn(
            schedule=text(form, "schedule") or None,
            day_of_month=text(form, "day_of_month") or None,
            net_days=text(form, "net_days") or None,
        )
    except ValidationError as error:
        return _payouts_page(request, ctx, error=describe_validation(error), status_code=422)
    methods.update_settings(ctx.session, settings_of(request), ctx.program, body)
    return redirect(request, ctx.url("/manage/payouts") + "#schedule", notice="Payout schedule saved.")
