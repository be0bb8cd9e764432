"""The partner's engagement pages: news (announcements with unread markers), progress (tier, next tier,
leaderboard, awards, how others see them), monthly reviews."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from partnerloop.account.deps import CsrfChecked, PartnerContext, PartnerPage, redirect, render
from partnerloop.db import transaction
from partnerloop.engagement.markdown import render_markdown
from partnerloop.engagement.rules import Metric, month_name
from partnerloop.engagement.service import awards, leaderboard, tiers
from partnerloop.engagement.service import pages as engagement_pages
from partnerloop.engagement.service.announcements import tracker
from partnerloop.kit.time import utc_now
from partnerloop.partner.rules import EnrollmentStatus
from partnerloop.web.forms import PostedFields, settings_of
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, ctx: PartnerContext, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    unread = engagement_pages.unread_count(ctx.session, ctx.program.id, ctx.partner.id)
    return render(request, template, {"ctx": ctx, "unread": unread, **context}, status_code=status_code)


def _approved(ctx: PartnerContext) -> None:
    if not EnrollmentStatus(ctx.enrollment.status).can_earn:
        raise PageNotFound("These pages open once your application is approved.")


@router.get("/partner/announcements")
def news(request: Request, ctx: PartnerPage) -> Response:
    _approved(ctx)
    rows = engagement_pages.partner_announcements(ctx.session, ctx.program.id, ctx.partner.id)
    return _page(request, ctx, "partner/announcements.html", {"rows": rows})


@router.get("/partner/announcements/{announcement_id}")
def news_item(request: Request, ctx: PartnerPage, announcement_id: str) -> Response:
    _approved(ctx)
    found = next(
        (
            (a, d)
            for a, d in engagement_pages.partner_announcements(ctx.session, ctx.program.id, ctx.partner.id, 500)
            if a.id == announcement_id
        ),
        None,
    )
    if found is None:
        raise PageNotFound("No such announcement for you.")
    announcement, delivery = found
    if delivery.read_at is None:
        # The page's own transaction only reads (GET); opening it is recorded in a short one of its own.
        with transaction(request.app.state.engine) as writer:
            engagement_pages.mark_read(writer, ctx.program.id, ctx.partner.id, announcement.id, utc_now())
    track = tracker(settings_of(request), announcement.id, ctx.partner.id)
    html = Markup(render_markdown(announcement.body, heading_offset=1, track=track))
    return _page(request, ctx, "partner/announcement.html", {"announcement": announcement, "html": html})


@router.get("/partner/progress")
def progress(request: Request, ctx: PartnerPage) -> Response:
    _approved(ctx)
    now = utc_now()
    tier = tiers.partner_tier(ctx.session, ctx.program, ctx.partner.id, ctx.enrollment.group_id, now)
    settings = engagement_pages.settings_of(ctx.session, ctx.program.id)
    board = None
    if settings.leaderboard_in_portal:
        rows, mine, window = leaderboard.partner_view(
            ctx.session, ctx.program, ctx.partner.id, ctx.partner.name, settings.leaderboard_metric, "month", now
        )
        board = {"rows": rows, "mine": mine, "window": window, "metric": settings.leaderboard_metric,
                 "label": Metric(settings.leaderboard_metric).label}  # fmt: skip
    choices = engagement_pages.partner_choices_or_default(ctx.session, ctx.program.id, ctx.partner.id)
    context = {
        "tier": tier,
        "board": board,
        "awards": awards.awards_of(ctx.session, ctx.program, ctx.partner.id),
        "choices": choices,
        "public_page": settings.public_partners_page,
    }
    return _page(request, ctx, "partner/progress.html", context)


@router.post("/partner/progress/choices")
def save_choices(request: Request, ctx: PartnerPage, _csrf: CsrfChecked, fields: PostedFields) -> Response:
    _approved(ctx)
    choices = engagement_pages.partner_choices(ctx.session, ctx.program.id, ctx.partner.id)
    display_name = fields.get("display_name", "").strip()[:100]
    choices.display_name = display_name or None
    choices.newsletter_opt_out = fields.get("newsletters") != "yes"
    choices.public_profile = fields.get("public_profile") == "yes"
    choices.updated_at = utc_now()
    ctx.session.flush()
    return redirect(request, ctx.url("/partner/progress"), notice="Your choices are saved.")


@router.get("/partner/reviews")
def partner_reviews(request: Request, ctx: PartnerPage) -> Response:
    _approved(ctx)
    rows = engagement_pages.reviews_of(ctx.session, ctx.program.id, ctx.partner.id, sent_only=True)
    return _page(request, ctx, "partner/reviews.html", {"reviews": rows, "month_name": month_name})
