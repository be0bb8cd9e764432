"""The manager's engagement pages: announcements (write, preview, send), the leaderboard, tiers and their
moves, awards, and the monthly review queue."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.engagement.markdown import render_markdown
from partnerloop.engagement.rules import METRICS, PERIODS, Metric, month_name, program_month
from partnerloop.engagement.schemas import AnnouncementIn, AwardIn, CampaignIn
from partnerloop.engagement.service import announcements, awards, campaigns, leaderboard, reviews, tiers
from partnerloop.engagement.service import pages as engagement_pages
from partnerloop.kit.errors import AppError
from partnerloop.kit.money import minor_digits, round_half_away
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.manage.views.common import page
from partnerloop.plan import service as plan_service
from partnerloop.report import metrics
from partnerloop.web.forms import PostedForm, settings_of, text, texts
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)

AUDIENCES = [
    ("all", "Every approved partner"),
    ("groups", "Partners in the groups ticked below"),
    ("tiers", "Partners in the tiers ticked below (all tiers when none is ticked)"),
    ("inactive", "Partners who have not sold in 30 days"),
]


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    return f"{field}: {first['msg']}"


# -------------------------------------------------------------------------------- announcements


def _announcement_values(form: Any) -> dict[str, Any]:
    return {
        "title": text(form, "title"),
        "body": str(form.get("body") or ""),
        "audience": text(form, "audience") or "all",
        "group_ids": texts(form, "group_ids"),
        "email": bool(form.get("email")),
        "send_at": text(form, "send_at"),
    }


def _announcement_in(values: dict[str, Any]) -> AnnouncementIn:
    send_at: datetime | None = None
    if values["send_at"]:
        try:
            send_at = as_utc(datetime.fromisoformat(values["send_at"]))
        except ValueError:
            raise AppError("send_at: write the time as YYYY-MM-DD HH:MM (UTC).", 422) from None
    return AnnouncementIn(
        title=values["title"], body=values["body"], audience=values["audience"],
        group_ids=values["group_ids"] or None, email=values["email"], send_at=send_at,
    )  # fmt: skip


def _announcements_page(
    request: Request,
    ctx: ManagerContext,
    *,
    values: dict[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    rows, _next = announcements.list_announcements(ctx.session, ctx.program, None, 50)
    context = {
        "announcements": announcements.announcements_out(ctx.session, rows),
        "groups": [(group, tier) for group, tier in engagement_pages.groups(ctx.session, ctx.program.id)],
        "audiences": AUDIENCES,
        "values": values or {"title": "", "body": "", "audience": "all", "group_ids": [], "email": True, "send_at": ""},
        "preview": preview,
        "error": error,
    }
    return page(request, ctx, "manage/announcements.html", context, status_code)


@router.get("/manage/announcements")
def announcements_page(request: Request, ctx: ManagerPage) -> Response:
    return _announcements_page(request, ctx)


@router.post("/manage/announcements")
def post_announcement(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    """`action=preview` shows the email and who gets it, saving nothing; `action=send` sends (or schedules)."""
    values = _announcement_values(form)
    try:
        body = _announcement_in(values)
        if text(form, "action") == "preview":
            audience = announcements.audience_of(ctx.session, ctx.program, body)
            people = announcements.recipients(ctx.session, ctx.program.id, audience, body.email, utc_now())
            preview = {
                "title": body.title,
                "html": Markup(render_markdown(body.body, heading_offset=2)),
                "recipients": len(people),
                "emailed": sum(1 for _partner, emailed in people if emailed),
            }
            return _announcements_page(request, ctx, values=values, preview=preview)
        announcement = announcements.create_announcement(
            ctx.session, ctx.program, body, now=utc_now(), actor=f"user:{ctx.user.email}"
        )
    except ValidationError as error:
        return _announcements_page(request, ctx, values=values, error=_validation_message(error), status_code=422)
    except AppError as error:
        return _announcements_page(request, ctx, values=values, error=error.message, status_code=error.status_code)
    said = "scheduled" if announcement.status == "scheduled" else f"sent to {announcement.recipients} partners"
    return redirect(request, ctx.url("/manage/announcements"), notice=f"“{announcement.title}” is {said}.")


@router.get("/manage/announcements/{announcement_id}")
def announcement_page(request: Request, ctx: ManagerPage, announcement_id: str) -> Response:
    try:
        announcement = announcements.get_announcement(ctx.session, ctx.program, announcement_id)
    except announcements.AnnouncementNotFound as error:
        raise PageNotFound(error.message) from None
    shown = announcements.announcements_out(ctx.session, [announcement])[0]
    context = {"announcement": shown, "html": Markup(shown.body_html)}
    return page(request, ctx, "manage/announcement.html", context)


# ---------------------------------------------------------------------------------- leaderboard


@router.get("/manage/leaderboard")
def leaderboard_page(
    request: Request, ctx: ManagerPage, metric: str = "revenue", period: str = "month", start: str = ""
) -> Response:
    error, board = None, None
    chosen: datetime | None = None
    try:
        if start:
            try:
                chosen = as_utc(datetime.fromisoformat(start))
            except ValueError:
                raise AppError("from: write the date as YYYY-MM-DD.", 422) from None
        board = leaderboard.leaderboard(ctx.session, ctx.program, metric, period, chosen, utc_now())
    except AppError as failure:
        error = failure.message
    context = {
        "board": board,
        "metric": metric,
        "period": period,
        "start": start,
        "metrics": [(m, Metric(m).label) for m in METRICS],
        "periods": PERIODS,
        "is_money": metric == "revenue",
        "settings": engagement_pages.settings_of(ctx.session, ctx.program.id),
        "error": error,
    }
    return page(request, ctx, "manage/leaderboard.html", context, 422 if error else 200)


@router.post("/manage/leaderboard/settings")
def save_leaderboard_settings(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    found = engagement_pages.settings_of(ctx.session, ctx.program.id)
    found.leaderboard_in_portal = bool(form.get("leaderboard_in_portal"))
    metric = text(form, "leaderboard_metric")
    if metric in METRICS:
        found.leaderboard_metric = metric
    found.public_partners_page = bool(form.get("public_partners_page"))
    engagement_pages.save_settings(ctx.session, found)
    return redirect(request, ctx.url("/manage/leaderboard"), notice="Saved.")


# ---------------------------------------------------------------------------------------- tiers


@router.get("/manage/tiers")
def tiers_page(request: Request, ctx: ManagerPage) -> Response:
    ladder = sorted(
        tiers.load_tiers(ctx.session, ctx.program.id).values(), key=lambda t: (t.rank is None, t.rank or 0, t.name)
    )
    names = {tier.group_id: tier.name for tier in ladder}
    moves = engagement_pages.recent_moves(ctx.session, ctx.program.id)
    people = engagement_pages.partner_names(ctx.session, ctx.program.id, {move.partner_id for move in moves})
    context = {"ladder": ladder, "names": names, "moves": moves, "people": people}
    return page(request, ctx, "manage/tiers.html", context)


@router.post("/manage/tiers/evaluate")
def evaluate_tiers_now(request: Request, ctx: ManagerAction) -> Response:
    moves = tiers.evaluate(ctx.session, ctx.program, utc_now())
    return redirect(request, ctx.url("/manage/tiers"), notice=f"Tier check done: {len(moves)} moves.")


# --------------------------------------------------------------------------------------- awards


def _awards_page(request: Request, ctx: ManagerContext, error: str | None = None, status_code: int = 200) -> Response:
    given = awards.awards_of(ctx.session, ctx.program, None)
    partners = engagement_pages.members(ctx.session, ctx.program.id)
    context = {
        "awards": given,
        "partners": sorted(
            [(pid, name) for pid, status, _g, name, _e, _o in partners if status == "approved"], key=lambda p: p[1]
        ),
        "names": {pid: name for pid, _s, _g, name, _e, _o in partners},
        "public_url": f"{settings_of(request).base_url.rstrip('/')}/programs/{ctx.program.id}/partners",
        "error": error,
    }
    return page(request, ctx, "manage/awards.html", context, status_code)


@router.get("/manage/awards")
def awards_page(request: Request, ctx: ManagerPage) -> Response:
    return _awards_page(request, ctx)


@router.post("/manage/awards")
def give_award(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    try:
        body = AwardIn(partner_id=text(form, "partner_id"), name=text(form, "name"), note=text(form, "note") or None,
                       public=bool(form.get("public")))  # fmt: skip
        awards.give_award(ctx.session, ctx.program, body)
    except ValidationError as error:
        return _awards_page(request, ctx, _validation_message(error), 422)
    except AppError as error:
        return _awards_page(request, ctx, error.message, error.status_code)
    return redirect(request, ctx.url("/manage/awards"), notice=f"“{body.name}” is given.")


# -------------------------------------------------------------------------------------- reviews


@router.get("/manage/reviews")
def reviews_page(request: Request, ctx: ManagerPage, month: str = "", status: str = "") -> Response:
    chosen, rows = reviews.queue(ctx.session, ctx.program, month or None, status or None, utc_now())
    overview = program_month([(review.partner_id, name, review.figures, review.previous) for review, name in rows])
    context = {
        "overview": overview,
        "month": chosen,
        "month_label": month_name(chosen) if len(chosen) == 7 else chosen,
        "rows": rows,
        "status": status,
        "drafts": sum(1 for review, _name in rows if review.status == "draft"),
        "roi_text": metrics.roi_text,
        "roi_definition": metrics.METRICS["roi"].definition,
    }
    return page(request, ctx, "manage/reviews.html", context)


@router.post("/manage/reviews/make")
def make_reviews(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    month = text(form, "month")
    try:
        made = reviews.make_month(ctx.session, ctx.program, month, utc_now())
    except ValueError:
        raise PageNotFound("No such month.") from None
    return redirect(request, ctx.url("/manage/reviews", month=month), notice=f"{made} reviews drafted.")


@router.post("/manage/reviews/{review_id}")
def note_review(request: Request, ctx: ManagerAction, form: PostedForm, review_id: str) -> Response:
    send = text(form, "action") == "send"
    try:
        review = reviews.note_and_send(
            ctx.session, settings_of(request), ctx.program, review_id, str(form.get("note") or ""), send, utc_now()
        )
    except reviews.ReviewNotFound as error:
        raise PageNotFound(error.message) from None
    notice = "The review is sent." if send else "The note is saved."
    return redirect(request, ctx.url("/manage/reviews", month=review.month) + f"#review-{review.id}", notice=notice)


# ------------------------------------------------------------------------------------ campaigns


def _campaigns_page(
    request: Request,
    ctx: ManagerContext,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    now = utc_now()
    rows = [
        campaigns.campaign_out(ctx.session, ctx.program, row, now)
        for row in campaigns.list_campaigns(ctx.session, ctx.program)
    ]
    plans, _next = plan_service.list_plans(ctx.session, ctx.program, cursor=None, limit=100)
    context = {
        "campaigns": rows,
        "plans": plans,
        "metrics": [(m, Metric(m).label) for m in METRICS],
        "values": values or {"name": "", "plan_id": ctx.program.default_plan_id or "", "starts": "", "until": "",
                             "rate": "", "metric": "revenue", "title": "", "body": "", "email": "yes",
                             "bonus_metric": "sales", "bonus_threshold": "", "bonus_amount": ""},
        "error": error,
    }  # fmt: skip
    return page(request, ctx, "manage/campaigns.html", context, status_code)


@router.get("/manage/campaigns")
def campaigns_page(request: Request, ctx: ManagerPage) -> Response:
    return _campaigns_page(request, ctx)


@router.post("/manage/campaigns")
def create_campaign(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    keys = ("name", "plan_id", "starts", "until", "rate", "metric", "title", "body", "email", "bonus_metric",
            "bonus_threshold", "bonus_amount")  # fmt: skip
    values = {key: text(form, key) if key != "body" else str(form.get("body") or "") for key in keys}
    try:
        try:
            starts, until = (
                as_utc(datetime.fromisoformat(values["starts"])),
                as_utc(datetime.fromisoformat(values["until"])),
            )
        except ValueError:
            raise AppError("from and until: give two times (UTC).", 422) from None
        body = CampaignIn.model_validate({
            "name": values["name"], "plan_id": values["plan_id"] or None, "from": starts, "until": until,
            "reward": _campaign_reward(values["rate"]), "bonus": _campaign_bonus(values, ctx.program.currency),
            "leaderboard_metric": values["metric"] or "revenue",
            "announcement": {"title": values["title"], "body": values["body"], "email": bool(values["email"])}
            if values["title"] else None,
        })  # fmt: skip
        campaign = campaigns.create_campaign(
            ctx.session, ctx.program, body, now=utc_now(), actor=f"user:{ctx.user.email}"
        )
    except ValidationError as error:
        return _campaigns_page(request, ctx, values, _validation_message(error), 422)
    except AppError as error:
        return _campaigns_page(request, ctx, values, error.message, error.status_code)
    return redirect(request, ctx.url("/manage/campaigns"), notice=f"“{campaign.name}” is set up.")


def _campaign_reward(rate: str) -> dict[str, Any] | None:
    if not rate:
        return None
    try:
        return {"type": "percent", "rate_bps": round(float(rate) * 100)}  # a percentage typed by a person: 12.5
    except ValueError:
        raise AppError(f"rate: '{rate}' is not a percentage.", 422) from None


def _minor(typed: str, currency: str) -> int:
    """'12.50' USD -> 1250 (ValueError or InvalidOperation for what is not a finite number)."""
    value = Decimal(typed.strip())
    if not value.is_finite():
        raise ValueError(typed)
    return round_half_away(value * 10 ** minor_digits(currency))


def _campaign_bonus(values: dict[str, str], currency: str) -> dict[str, Any] | None:
    """The form's bonus: money typed as a person writes it (12.50), counts as whole numbers; None when empty."""
    if not values["bonus_amount"] and not values["bonus_threshold"]:
        return None
    metric = values["bonus_metric"] or "sales"
    try:
        amount = _minor(values["bonus_amount"], currency)
        threshold = (
            _minor(values["bonus_threshold"], currency) if metric == "revenue" else int(values["bonus_threshold"])
        )
    except (InvalidOperation, ValueError):
        raise AppError("bonus: give the target and the bonus amount as numbers.", 422) from None
    return {"metric": metric, "threshold": threshold, "amount": amount}
