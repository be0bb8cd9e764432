"""/manage/referrals: KPIs of customer referrals against the previous period, advocates (with a CSV
paste to add many), rewards with filters, retry and mark-issued, CSV export, and the reward settings
form with its preview sentence."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.db import transaction
from partnerloop.kit import spreadsheet
from partnerloop.kit.errors import AppError
from partnerloop.kit.money import format_money
from partnerloop.kit.time import utc_now
from partnerloop.manage.rules import amount_text, change_text, parse_amount, parse_period
from partnerloop.manage.views.common import page
from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.program.schemas import ProgramPatch
from partnerloop.program.service import is_email, update_program
from partnerloop.referral import service as referral_service
from partnerloop.referral.rules import offer_sentence
from partnerloop.referral.schemas import AdvocateIn
from partnerloop.referral.service import ReferralTotals
from partnerloop.report import metrics
from partnerloop.web.forms import PostedFields, settings_of
from partnerloop.web.pages import apply_security_headers, money_formatter

router = APIRouter(include_in_schema=False)
REFERRER_TYPES = ("credit", "coupon", "cash", "none")
FRIEND_TYPES = ("percent_off", "amount_off", "none")
MAX_CSV_ROWS = 1000
PAGE_SIZE = 50


def _form_values(rewards: ReferralRewards | None, currency: str) -> dict[str, str]:
    if rewards is None:
        return {"trigger": "sale", "referrer_type": "none", "friend_type": "none", "hold_days": "0"}
    referrer, friend = rewards.referrer.model_dump(), rewards.friend.model_dump()
    return {
        "trigger": rewards.trigger,
        "referrer_type": referrer["type"],
        "referrer_amount": amount_text(referrer.get("amount"), currency),
        "referrer_percent": str(referrer.get("percent") or ""),
        "referrer_months": str(referrer.get("duration_months") or ""),
        "friend_type": friend["type"],
        "friend_amount": amount_text(friend.get("amount"), currency),
        "friend_percent": str(friend.get("percent") or ""),
        "friend_months": str(friend.get("duration_months") or ""),
        "limit_per_advocate": str(rewards.limit_per_advocate or ""),
        "hold_days": str(rewards.hold_days),
        "auto_advocates": "on" if rewards.auto_advocates else "",
        "auto_advocates_on": rewards.auto_advocates_on,
    }


def _number(text: str) -> int | str | None:
    """A whole number as given (kept as text when it is not one, so validation names the field)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.lstrip("-").isdigit() else text


def _side(form: dict[str, str], side: str, currency: str) -> dict[str, Any]:
    kind = form.get(f"{side}_type", "none")
    values: dict[str, Any] = {"type": kind}
    if kind == "none":
        return values
    amount = form.get(f"{side}_amount", "").strip()
    if amount and kind in ("credit", "cash", "coupon", "amount_off"):
        values["amount"] = parse_amount(amount, currency)
    percent = _number(form.get(f"{side}_percent", ""))
    if percent is not None and kind in ("coupon", "percent_off"):
        values["percent"] = percent
    months = _number(form.get(f"{side}_months", ""))
    if months is not None and kind in ("coupon", "percent_off", "amount_off"):
        values["duration_months"] = months
    return values


def rewards_from_form(form: dict[str, str], currency: str) -> ReferralRewards:
    """The settings form as ReferralRewards; ValueError (a parse) or ValidationError (naming the field)."""
    body: dict[str, Any] = {
        "trigger": form.get("trigger", "sale"),
        "referrer": _side(form, "referrer", currency),
        "friend": _side(form, "friend", currency),
        "hold_days": _number(form.get("hold_days", "")) or 0,
        "limit_per_advocate": _number(form.get("limit_per_advocate", "")),
        "auto_advocates": form.get("auto_advocates") == "on",
        "auto_advocates_on": form.get("auto_advocates_on") or "customer.created",
    }
    return ReferralRewards.model_validate(body)


def _validation_message(error: ValidationError) -> str:
    """Pydantic's errors naming the field ('referrer.amount: …'), without the union's type tags."""
    tags = set(REFERRER_TYPES) | set(FRIEND_TYPES)
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"] if str(part) not in tags)
        parts.append(f"{where or 'value'}: {item['msg']}")
    return "; ".join(parts)


def _kpis(
    current: ReferralTotals, previous: ReferralTotals, currency: str, money: Callable[[int, str], str] = format_money
) -> list[dict[str, str]]:
    rows = [
        ("Advocates", current.advocates, previous.advocates, False),
        ("Advocates who shared", current.advocates_who_shared, previous.advocates_who_shared, False),
        ("Advocates who referred", current.advocates_who_referred, previous.advocates_who_referred, False),
        ("Friends referred", current.friends_referred, previous.friends_referred, False),
        ("Referred revenue", current.referred_revenue, previous.referred_revenue, True),
        ("Reward cost", current.reward_cost, previous.reward_cost, True),
    ]
    shown = []
    for name, now_value, before, is_money in rows:
        change, trend = change_text(now_value, before)
        text = money(now_value, currency) if is_money else f"{now_value:,}"
        previous_text = money(before, currency) if is_money else f"{before:,}"
        shown.append({"name": name, "value": text, "previous": previous_text, "change": change, "trend": trend})
    # report/metrics.py's ROI with the rewards as the cost: (referred revenue − reward cost) ÷ reward cost
    roi = metrics.roi_of(current.referred_revenue, current.reward_cost) if current.reward_cost > 0 else None
    shown.append({"name": "ROI", "value": metrics.roi_text(roi), "previous": "", "change": "", "trend": "flat"})
    return shown


def _referrals_page(
    request: Request,
    ctx: ManagerContext,
    *,
    status: str = "",
    side: str = "",
    q: str = "",
    days: str | None = None,
    advocates_after: str = "",
    rewards_after: str = "",
    form: dict[str, str] | None = None,
    preview: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    session, program = ctx.session, ctx.program
    period, _period_error = parse_period(days, None, None, date.today())
    current = referral_service.referral_totals(session, program, period.starts_at, period.ends_before)
    before_period = period.previous()
    previous = referral_service.referral_totals(session, program, before_period.starts_at, before_period.ends_before)
    advocates, next_advocates = referral_service.list_advocates(
        session, program, advocates_after or None, PAGE_SIZE, q or None
    )
    status_filter = status if status in ("pending", "issued", "failed", "rejected") else None
    side_filter = side if side in ("referrer", "friend") else None
    rewards, next_rewards = referral_service.list_rewards(
        session, program, status=status_filter, side=side_filter, cursor=rewards_after or None, limit=PAGE_SIZE
    )
    settings = referral_service.reward_settings(program)
    return page(
        request,
        ctx,
        "manage/referrals.html",
        {
            "kpis": _kpis(current, previous, program.currency, money_formatter(request)),
            "period": period,
            "advocates": referral_service.advocates_out(session, settings_of(request), advocates),
            "rewards": rewards,
            "referrals": referral_service.latest_referrals(session, program),
            "advocate_names": referral_service.advocate_names(session, program, {r.advocate_id for r in rewards}),
            "filters": {"status": status, "side": side, "q": q},
            "pages": {
                "advocates_after": advocates_after,
                "rewards_after": rewards_after,
                "next_advocates": next_advocates,
                "next_rewards": next_rewards,
            },
            "form": form or _form_values(settings, program.currency),
            "sentence": preview or (offer_sentence(settings, program.currency) if settings else None),
            "is_preview": preview is not None,
            "referrer_types": REFERRER_TYPES,
            "friend_types": FRIEND_TYPES,
            "totals": current,
            "error": error,
        },
        status_code,
    )


@router.get("/manage/referrals")
def referrals(
    request: Request,
    ctx: ManagerPage,
    status: str = "",
    side: str = "",
    q: str = "",
    days: str | None = None,
    advocates_after: str = "",
    rewards_after: str = "",
) -> Response:
    return _referrals_page(
        request, ctx, status=status, side=side, q=q, days=days, advocates_after=advocates_after,
        rewards_after=rewards_after,
    )  # fmt: skip


@router.post("/manage/referrals/settings")
def save_settings(request: Request, ctx: ManagerAction, form: PostedFields) -> Response:
    """Preview the sentence, or save the reward settings (nothing changes when a value is refused)."""
    try:
        rewards = rewards_from_form(form, ctx.program.currency)
    except ValidationError as error:
        return _referrals_page(request, ctx, form=form, error=_validation_message(error), status_code=422)
    except ValueError as error:
        return _referrals_page(request, ctx, form=form, error=str(error), status_code=422)
    if form.get("action") == "preview":
        return _referrals_page(request, ctx, form=form, preview=offer_sentence(rewards, ctx.program.currency))
    update_program(ctx.session, ctx.program, ProgramPatch(referral_rewards=rewards))
    return redirect(request, ctx.url("/manage/referrals"), notice="Reward settings saved.")


@router.post("/manage/referrals/advocates")
def add_advocates(request: Request, ctx: ManagerAction, form: PostedFields) -> Response:
    """Advocates from pasted CSV lines `customer_id,email[,name[,stripe_customer_id]]` (a header line is skipped).
    Every line is checked first; one bad line adds none."""
    lines = [row for row in csv.reader(io.StringIO(form.get("csv", ""))) if any(cell.strip() for cell in row)]
    if lines and lines[0] and lines[0][0].strip().lower() in ("customer_id", "customer_external_id"):
        lines = lines[1:]
    if not lines or len(lines) > MAX_CSV_ROWS:
        return _referrals_page(
            request,
            ctx,
            error=f"Paste 1 to {MAX_CSV_ROWS} lines: customer_id,email[,name[,stripe_customer_id]].",
            status_code=422,
        )
    bodies = []
    for number, row in enumerate(lines, start=1):
        cells = [cell.strip() for cell in row] + ["", "", "", ""]
        try:
            bodies.append(
                AdvocateIn(
                    customer_external_id=cells[0],
                    email=cells[1],
                    name=cells[2] or None,
                    stripe_customer_id=cells[3] or None,
                )
            )
        except ValidationError as error:
            return _referrals_page(request, ctx, error=f"Line {number}: {_validation_message(error)}", status_code=422)
        if not is_email(cells[1]):
            return _referrals_page(
                request, ctx, error=f"Line {number}: email: '{cells[1]}' is not an email address.", status_code=422
            )
    created = 0
    number = 0
    try:
        with ctx.session.begin_nested():
            for index, body in enumerate(bodies, start=1):
                number = index  # named in the error, should this line be refused
                _advocate, was_created = referral_service.create_advocate(ctx.session, ctx.program, body)
                created += was_created
    except AppError as error:
        return _referrals_page(request, ctx, error=f"Line {number}: {error.message}", status_code=error.status_code)
    known = len(bodies) - created
    notice = (
        f"{created} advocate{'s' if created != 1 else ''} added" + (f", {known} known already" if known else "") + "."
    )
    return redirect(request, ctx.url("/manage/referrals"), notice=notice)


@router.post("/manage/referrals/rewards/{reward_id}")
def act_on_reward(request: Request, ctx: ManagerAction, reward_id: str, form: PostedFields) -> Response:
    """Retry a failed reward, or mark a pending or failed one issued with a reference."""
    try:
        if form.get("action") == "retry":
            referral_service.retry_reward(ctx.session, ctx.program, reward_id)
            notice = "The reward will be issued again."
        else:
            reference = form.get("reference", "").strip() or f"marked by {ctx.user.email}"
            referral_service.mark_issued(ctx.session, ctx.program, reward_id, reference[:255])
            notice = "Reward marked issued."
    except AppError as error:
        return _referrals_page(request, ctx, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/manage/referrals"), notice=notice)


def _csv_response(
    request: Request, name: str, header: list[str], pages: Callable[[Session], Iterator[list[list[Any]]]]
) -> Response:
    """A CSV streamed a page of rows at a time, read in its own transaction, every cell through
    kit/spreadsheet (formula injection)."""
    engine = request.app.state.engine

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = spreadsheet.writer(out)
        writer.writerow(header)
        with transaction(engine, writes=False) as session:
            for rows in pages(session):
                writer.writerows(rows)
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    response = StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{utc_now().date().isoformat()}.csv"'},
    )
    apply_security_headers(request, response)
    return response


@router.get("/manage/referrals/rewards.csv")
def export_rewards(request: Request, ctx: ManagerPage, status: str = "", side: str = "") -> Response:
    program = ctx.program
    header = ["id", "advocate_id", "side", "type", "amount", "currency", "percent", "code", "status", "reason",
              "external_ref", "created_at"]  # fmt: skip

    def pages(session: Session) -> Iterator[list[list[Any]]]:
        cursor: str | None = None
        while True:
            rows, cursor = referral_service.list_rewards(
                session, program, status=status or None, side=side or None, cursor=cursor, limit=100
            )
            yield [[r.id, r.advocate_id, r.side, r.type, r.amount if r.amount is not None else "", r.currency,
                    r.percent if r.percent is not None else "", r.code or "", r.status, r.reason or "",
                    r.external_ref or "", r.created_at.isoformat()] for r in rows]  # fmt: skip
            if cursor is None:
                return

    return _csv_response(request, "rewards", header, pages)


@router.get("/manage/referrals/advocates.csv")
def export_advocates(request: Request, ctx: ManagerPage, q: str = "") -> Response:
    program, settings = ctx.program, settings_of(request)
    header = ["id", "customer_external_id", "email", "name", "stripe_customer_id", "referral_code", "share_url",
              "referrals_count", "rewards_count", "created_at"]  # fmt: skip

    def pages(session: Session) -> Iterator[list[list[Any]]]:
        cursor: str | None = None
        while True:
            rows, cursor = referral_service.list_advocates(session, program, cursor, 100, q or None)
            yield [[a.id, a.customer_external_id, a.email, a.name or "", a.stripe_customer_id or "", a.referral_code,
                    a.share_url, a.referrals_count, len(a.rewards), a.created_at.isoformat()]
                   for a in referral_service.advocates_out(session, settings, rows)]  # fmt: skip
            if cursor is None:
                return

    return _csv_response(request, "advocates", header, pages)


@router.get("/manage/referrals/referrals.csv")
def export_referrals(request: Request, ctx: ManagerPage) -> Response:
    program = ctx.program
    header = ["id", "advocate_id", "advocate_email", "friend_external_id", "first_lead_at", "first_sale_at",
              "sales_count", "revenue_amount", "currency", "created_at"]  # fmt: skip

    def when(moment: datetime | None) -> str:
        return moment.isoformat() if moment else ""

    def pages(session: Session) -> Iterator[list[list[Any]]]:
        cursor: str | None = None
        while True:
            rows, cursor = referral_service.list_referrals(session, program, cursor, 100)
            yield [[r.id, r.advocate_id, email, r.friend_external_id, when(r.first_lead_at), when(r.first_sale_at),
                    r.sales_count, r.revenue_amount, program.currency, r.created_at.isoformat()]
                   for r, email, _name in rows]  # fmt: skip
            if cursor is None:
                return

    return _csv_response(request, "referrals", header, pages)
