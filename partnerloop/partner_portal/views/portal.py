"""The partner's pages under /partner: dashboard, getting started, links, commissions, resources, profile."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import CsrfChecked, PartnerContext, PartnerPage, redirect, render
from partnerloop.commission.rules import CommissionStatus
from partnerloop.conversion import explained
from partnerloop.goal import service as goal_service
from partnerloop.goal.views import goal_cards
from partnerloop.kit.errors import AppError
from partnerloop.kit.time import utc_now
from partnerloop.models import Link
from partnerloop.partner.rules import EnrollmentStatus
from partnerloop.partner_portal import repository
from partnerloop.partner_portal.rules import RANGE_PRESETS, UTM_FIELDS, ResourceKind, image_previews, parse_range
from partnerloop.partner_portal.service import payouts as payout_service
from partnerloop.partner_portal.service import portal as service
from partnerloop.web.forms import COUNTRIES, COUNTRY_NAMES, PostedFields, settings_of
from partnerloop.web.pages import PageNotFound, money_formatter

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    ctx: PartnerContext,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    image_origins: Iterable[str] = (),
) -> Response:
    values = {"ctx": ctx, "country_names": COUNTRY_NAMES, **context}
    return render(request, template, values, status_code=status_code, image_origins=image_origins)


def _not_approved(request: Request, ctx: PartnerContext) -> Response | None:
    """The page an applicant sees instead of the portal while not approved (pending, rejected, …)."""
    if EnrollmentStatus(ctx.enrollment.status).can_earn:
        return None
    application = repository.application_of(ctx.session, ctx.program.id, ctx.partner.id)
    return _page(request, ctx, "partner/status.html", {"application": application})


# ------------------------------------------------------------------------------------ dashboard


@router.get("/partner")
def dashboard(
    request: Request,
    ctx: PartnerPage,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    period, problem = parse_range(start, end, days, utc_now().date())
    figures = service.dashboard(ctx.session, ctx.program, ctx.partner, period, money=money_formatter(request))
    goals, _cursor = goal_service.list_goals(ctx.session, ctx.program, partner_id=ctx.partner.id, limit=20)
    cards = goal_cards(ctx.session, ctx.program, goals, utc_now(), money_formatter(request))
    share = service.share_kit(ctx.session, settings_of(request), ctx.program, ctx.partner, ctx.enrollment)
    context = {
        "share": share,
        "figures": figures,
        "presets": RANGE_PRESETS,
        "range_error": problem,
        "days": days,
        "goal_cards": cards,
    }
    return _page(request, ctx, "partner/dashboard.html", context, status_code=422 if problem else 200)


# ------------------------------------------------------------------------------ getting started


@router.get("/partner/welcome")
def welcome(request: Request, ctx: PartnerPage) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    onboarding = service.onboarding(ctx.session, ctx.program, ctx.partner, ctx.enrollment)
    return _page(request, ctx, "partner/welcome.html", {"onboarding": onboarding})


@router.get("/partner/resources")
def resources(request: Request, ctx: PartnerPage) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    onboarding = service.onboarding(ctx.session, ctx.program, ctx.partner, ctx.enrollment)
    kinds = {kind.value: kind.label for kind in ResourceKind}
    share = service.share_kit(ctx.session, settings_of(request), ctx.program, ctx.partner, ctx.enrollment)
    copies = service.personalized_resources(onboarding.resources, share)
    previews = image_previews([(item.id, item.kind, item.url) for item in onboarding.resources])
    context = {
        "resources": onboarding.resources,
        "kinds": kinds,
        "copies": copies,
        "share": share,
        "previews": previews,
    }
    return _page(request, ctx, "partner/resources.html", context, image_origins=previews.origins)


@router.get("/partner/profile")
def profile_form(request: Request, ctx: PartnerPage) -> Response:
    values = {"name": ctx.partner.name, "country": ctx.partner.country or "", "website": ctx.partner.website or ""}
    return _page(request, ctx, "partner/profile.html", {"values": values, "countries": COUNTRIES, "error": None})


@router.post("/partner/profile")
def save_profile(request: Request, ctx: PartnerPage, _csrf: CsrfChecked, fields: PostedFields) -> Response:
    values = {key: fields.get(key, "") for key in ("name", "country", "website")}
    try:
        service.update_profile(ctx.session, ctx.partner, **values)
    except AppError as error:
        context = {"values": values, "countries": COUNTRIES, "error": error.message}
        return _page(request, ctx, "partner/profile.html", context, status_code=error.status_code)
    return redirect(request, ctx.url("/partner/welcome"), notice="Your profile is saved.")


# ---------------------------------------------------------------------------------------- links


def _links_page(
    request: Request, ctx: PartnerContext, *, values: dict[str, str], error: str | None, status_code: int = 200
) -> Response:
    rows = service.links(ctx.session, settings_of(request), ctx.program, ctx.partner)
    coupons = repository.active_coupons(ctx.session, ctx.program.id, ctx.partner.id)
    context = {"links": rows, "coupons": coupons, "values": values, "error": error, "utm_fields": UTM_FIELDS}
    return _page(request, ctx, "partner/links.html", context, status_code=status_code)


@router.get("/partner/links")
def links(request: Request, ctx: PartnerPage) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    domains = list(ctx.program.allowed_domains)
    return _links_page(
        request, ctx, values={"destination_url": f"https://{domains[0]}/" if domains else ""}, error=None
    )


@router.post("/partner/links")
def create_link(request: Request, ctx: PartnerPage, _csrf: CsrfChecked, fields: PostedFields) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    values = {key: fields.get(key, "") for key in ("destination_url", "key", *UTM_FIELDS)}
    body = service.LinkBuilderIn(
        destination_url=values["destination_url"],
        key=values["key"],
        utm={field: values[field] for field in UTM_FIELDS},
    )
    try:
        link = service.build_link(ctx.session, ctx.program, ctx.partner, body)
    except AppError as error:
        return _links_page(request, ctx, values=values, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/partner/links/{link.id}"), notice="Your link is ready: copy it and share it.")


def _own_link(ctx: PartnerContext, link_id: str) -> Link:
    try:
        return service.partner_link(ctx.session, ctx.program, ctx.partner, link_id)
    except service.LinkNotFound as error:
        raise PageNotFound(error.message) from None


@router.get("/partner/links/{link_id}")
def link_page(
    request: Request,
    ctx: PartnerPage,
    link_id: str,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    return _link_page(request, ctx, _own_link(ctx, link_id), days=days, start=start, end=end)


def _link_page(
    request: Request,
    ctx: PartnerContext,
    link: Link,
    *,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    period, problem = parse_range(start, end, days, utc_now().date())
    figures = service.dashboard(
        ctx.session, ctx.program, ctx.partner, period, link_id=link.id, money=money_formatter(request)
    )
    context = {
        "link": link,
        "short_url": service.short_url(settings_of(request), link),
        "figures": figures,
        "presets": RANGE_PRESETS,
        "range_error": problem,
        "days": days,
        "error": error,
    }
    return _page(request, ctx, "partner/link.html", context, status_code=422 if problem else status_code)


@router.post("/partner/links/{link_id}")
def change_link(request: Request, ctx: PartnerPage, _csrf: CsrfChecked, link_id: str, fields: PostedFields) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    link = _own_link(ctx, link_id)
    try:
        service.change_destination(ctx.session, ctx.program, ctx.partner, link.id, fields.get("destination_url", ""))
    except AppError as error:
        return _link_page(request, ctx, link, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/partner/links/{link.id}"), notice="Your link sends visitors to the new page.")


@router.post("/partner/links/{link_id}/archive")
def archive_link(request: Request, ctx: PartnerPage, _csrf: CsrfChecked, link_id: str) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    link = service.archive_link(ctx.session, ctx.program, ctx.partner, _own_link(ctx, link_id).id)
    return redirect(
        request, ctx.url("/partner/links"), notice=f"Link /go/{link.key} is archived: it no longer redirects."
    )


@router.get("/partner/links/{link_id}/qr.{kind}")
def link_qr(request: Request, ctx: PartnerPage, link_id: str, kind: str) -> Response:
    if kind not in ("svg", "png"):
        raise PageNotFound("QR codes come as .svg or .png.")
    link = _own_link(ctx, link_id)
    content, media_type = service.qr_code(service.short_url(settings_of(request), link), kind)
    headers = {"Cache-Control": "private, max-age=3600"}
    if kind == "png":
        headers["Content-Disposition"] = f'attachment; filename="{link.key}-qr.png"'
    return Response(content, media_type=media_type, headers=headers)


# ---------------------------------------------------------------------------------- commissions


@router.get("/partner/commissions")
def commissions(request: Request, ctx: PartnerPage, status: str = "", cursor: str = "") -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    error = None
    try:
        rows, next_cursor = service.commissions(ctx.session, ctx.program, ctx.partner, status or None, cursor or None)
    except AppError as failure:
        rows, next_cursor, error = [], None, failure.message
    shown = [row.commission for row in rows]
    customers = explained.customers_of(ctx.session, ctx.program.id, {c.customer_id for c in shown if c.customer_id})
    context = {
        "rows": rows,
        "attributions": explained.commission_attributions(ctx.session, ctx.program.id, shown),
        # the partner's own customers, their emails masked: recognisable, not harvestable
        "customer_labels": explained.customer_labels(
            ctx.session, ctx.program.id, list(customers.values()), masked=True
        ),
        "next_cursor": next_cursor,
        "status": status,
        "statuses": list(CommissionStatus),
        "balances": service.balances(ctx.session, ctx.program, ctx.partner),
        "error": error,
    }
    return _page(request, ctx, "partner/commissions.html", context, status_code=422 if error else 200)


# -------------------------------------------------------------------------------------- payouts


def _payouts_page(
    request: Request, ctx: PartnerContext, *, values: dict[str, str], error: str | None, status_code: int = 200
) -> Response:
    payouts = payout_service.payouts_page(ctx.session, ctx.program, ctx.partner, utc_now().date())
    context = {
        "page": payouts,
        "balances": service.balances(ctx.session, ctx.program, ctx.partner),
        "values": values,
        "error": error,
        "countries": COUNTRIES,
    }
    return _page(request, ctx, "partner/payouts.html", context, status_code=status_code)


@router.get("/partner/payouts")
def payouts(request: Request, ctx: PartnerPage) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    return _payouts_page(request, ctx, values={}, error=None)


@router.post("/partner/payouts")
def save_payout_details(request: Request, ctx: PartnerPage, _csrf: CsrfChecked, fields: PostedFields) -> Response:
    if (page := _not_approved(request, ctx)) is not None:
        return page
    values = {key: value for key, value in fields.items() if key != "csrf_token"}
    try:
        with ctx.session.begin_nested():
            payout_service.save_method(ctx.session, settings_of(request), ctx.program, ctx.partner, values)
    except AppError as error:
        return _payouts_page(request, ctx, values=values, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url("/partner/payouts"), notice="Your payout details are saved.")
