"""/manage/links: every link of the program with search, a link made for a partner, and per link its clicks by
day, country, device and referring site, a new destination, or disabling it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.kit.errors import AppError, InvalidInput
from partnerloop.kit.time import utc_now
from partnerloop.link import service as link_service
from partnerloop.link import stats as link_stats
from partnerloop.link.schemas import LinkIn, LinkPatch
from partnerloop.manage.rules import page_bounds
from partnerloop.manage.views.common import page
from partnerloop.models import Link
from partnerloop.partner import service as partner_service
from partnerloop.web.charts import bar_chart_svg, daily_series
from partnerloop.web.forms import COUNTRY_NAMES, PostedForm, settings_of, text
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
PARTNER_CHOICES = 100  # the most list_partners answers at once


def _links_page(
    request: Request,
    ctx: ManagerContext,
    *,
    q: str = "",
    partner_id: str = "",
    page_number: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    _rows, total = link_stats.search_links(ctx.session, ctx.program, text=q, partner_id=partner_id, offset=0, limit=0)
    number, offset = page_bounds(page_number, total, PER_PAGE)
    rows, total = link_stats.search_links(
        ctx.session, ctx.program, text=q, partner_id=partner_id, offset=offset, limit=PER_PAGE
    )
    partners, _cursor = partner_service.list_partners(
        ctx.session, ctx.program, status="approved", cursor=None, limit=PARTNER_CHOICES
    )
    domains = list(ctx.program.allowed_domains)
    context: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "filters": {"q": q, "partner_id": partner_id},
        "page_number": number,
        "pages": max(1, -(-total // PER_PAGE)),
        "partners": [(partner.id, partner.name, partner.email) for partner, _enrollment in partners],
        "values": values or {"partner_id": partner_id, "destination_url": f"https://{domains[0]}/" if domains else ""},
        "error": error,
        "base_url": settings_of(request).base_url.rstrip("/"),
    }
    return page(request, ctx, "manage/links.html", context, status_code)


@router.get("/manage/links")
def links(request: Request, ctx: ManagerPage, q: str = "", partner_id: str = "", page: str | None = None) -> Response:
    return _links_page(request, ctx, q=q, partner_id=partner_id, page_number=page)


@router.post("/manage/links")
def create_link(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    values = {name: text(form, name) for name in ("partner_id", "destination_url", "key")}
    try:
        if not values["partner_id"]:
            raise InvalidInput("partner_id: choose the partner the link is for.")
        if not values["destination_url"]:
            raise InvalidInput("destination_url: give the page the link sends visitors to.")
        link = link_service.create_link(
            ctx.session,
            ctx.program,
            LinkIn(
                partner_id=values["partner_id"],
                destination_url=values["destination_url"][:2000],
                key=values["key"][:64] or None,
            ),
        )
    except AppError as error:
        return _links_page(request, ctx, values=values, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/manage/links/{link.id}"), notice=f"Link /go/{link.key} created.")


def _live_link(ctx: ManagerContext, link_id: str) -> Link:
    try:
        return link_service.get_link(ctx.session, ctx.program, link_id)
    except link_service.LinkNotFound as error:
        raise PageNotFound(error.message) from None


def _link_page(
    request: Request, ctx: ManagerContext, link_id: str, *, error: str | None = None, status_code: int = 200
) -> Response:
    link = _live_link(ctx, link_id)
    partner, _enrollment = partner_service.get_partner(ctx.session, ctx.program, link.partner_id)
    found = link_stats.link_stats(ctx.session, link, utc_now().date())
    chart = bar_chart_svg(
        daily_series(found.days, found.start, found.end), title="Clicks per day", empty_text="No clicks in this period"
    )
    context = {
        "link": link,
        "partner": partner,
        "short_url": link_service.link_out(link, found.total, settings_of(request)).short_url,
        "stats": found,
        "chart": chart,
        "country_names": COUNTRY_NAMES,
        "error": error,
    }
    return page(request, ctx, "manage/link.html", context, status_code)


@router.get("/manage/links/{link_id}")
def link_detail(request: Request, ctx: ManagerPage, link_id: str) -> Response:
    return _link_page(request, ctx, link_id)


@router.post("/manage/links/{link_id}")
def change_destination(request: Request, ctx: ManagerAction, link_id: str, form: PostedForm) -> Response:
    destination = text(form, "destination_url")
    _live_link(ctx, link_id)
    try:
        if not destination:
            raise InvalidInput("destination_url: give the page the link sends visitors to.")
        link_service.update_link(ctx.session, ctx.program, link_id, LinkPatch(destination_url=destination[:2000]))
    except AppError as error:
        return _link_page(request, ctx, link_id, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(f"/manage/links/{link_id}"), notice="The link sends visitors to the new page.")


@router.post("/manage/links/{link_id}/disable")
def disable_link(request: Request, ctx: ManagerAction, link_id: str) -> Response:
    link = _live_link(ctx, link_id)
    link_service.delete_link(ctx.session, ctx.program, link_id)
    notice = f"Link /go/{link.key} is disabled: it no longer redirects; its clicks stay in the reports."
    return redirect(request, ctx.url("/manage/links"), notice=notice)
