"""/manage/coupons: the program's coupon codes (each attributes sales to one partner without a click), a new
code for a partner (optionally created in Stripe as a promotion code), and deactivating one. Server-rendered,
CSRF-checked; managers act, viewers read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from partnerloop.account.deps import ManagerAction, ManagerContext, ManagerPage, redirect
from partnerloop.coupon import service as coupon_service
from partnerloop.coupon.schemas import CouponIn
from partnerloop.integrations.stripe import connection as stripe_connection
from partnerloop.kit.errors import AppError
from partnerloop.manage.views.common import page
from partnerloop.partner import figures as partners_of
from partnerloop.partner import service as partner_service
from partnerloop.web.forms import PostedForm, settings_of, text
from partnerloop.web.pages import PageNotFound

router = APIRouter(include_in_schema=False)
PATH = "/manage/coupons"
PER_PAGE = 50
PARTNER_CHOICES = 100  # the most list_partners answers at once


def _page(
    request: Request,
    ctx: ManagerContext,
    *,
    cursor: str | None = None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    coupons, next_cursor = coupon_service.list_coupons(
        ctx.session, ctx.program, partner_id=None, active=None, cursor=cursor, limit=PER_PAGE
    )
    owners = partners_of.enrolled_among(ctx.session, ctx.program.id, sorted({coupon.partner_id for coupon in coupons}))
    approved, _cursor = partner_service.list_partners(
        ctx.session, ctx.program, status="approved", cursor=None, limit=PARTNER_CHOICES
    )
    context: dict[str, Any] = {
        "coupons": [
            (coupon_service.coupon_out(coupon), owners[coupon.partner_id][0] if coupon.partner_id in owners else None)
            for coupon in coupons
        ],
        "next_cursor": next_cursor,
        "cursor": cursor,
        "partners": [(partner.id, partner.name, partner.email) for partner, _enrollment in approved],
        "stripe_ready": stripe_connection.connection(ctx.session, ctx.program, events=0).secret_key_set,
        "values": values or {"code": "", "partner_id": "", "create_in_stripe": "", "stripe_coupon_id": ""},
        "error": error,
    }
    return page(request, ctx, "manage/coupons.html", context, status_code)


@router.get(PATH)
def coupons_page(request: Request, ctx: ManagerPage, cursor: str | None = None) -> Response:
    return _page(request, ctx, cursor=cursor[:64] if cursor else None)


def _message(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{field}: {message}." if field else f"{message}."


@router.post(PATH)
def create_coupon(request: Request, ctx: ManagerAction, form: PostedForm) -> Response:
    values = {name: text(form, name) for name in ("code", "partner_id", "create_in_stripe", "stripe_coupon_id")}
    try:
        body = CouponIn.model_validate(
            {
                "code": values["code"],
                "partner_id": values["partner_id"] or "",
                "create_in_stripe": values["create_in_stripe"] == "on",
                "stripe_coupon_id": values["stripe_coupon_id"] or None,
            }
        )
        with ctx.session.begin_nested():
            coupon = coupon_service.create_coupon(
                ctx.session, ctx.program, settings_of(request), body, actor=f"user:{ctx.user.email}"
            )
    except ValidationError as error:
        return _page(request, ctx, values=values, error=_message(error), status_code=422)
    except AppError as error:
        return _page(request, ctx, values=values, error=error.message, status_code=error.status_code)
    where = " and as a Stripe promotion code" if coupon.stripe_promotion_code_id else ""
    return redirect(request, ctx.url(PATH), notice=f"Coupon {coupon.code} created{where}.")


@router.post(f"{PATH}/{{coupon_id}}/deactivate")
def deactivate_coupon(request: Request, ctx: ManagerAction, coupon_id: str, form: PostedForm) -> Response:
    try:
        with ctx.session.begin_nested():
            coupon = coupon_service.deactivate_coupon(ctx.session, ctx.program, settings_of(request), coupon_id)
    except coupon_service.CouponNotFound as error:
        raise PageNotFound(error.message) from None
    except AppError as error:
        return _page(request, ctx, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(PATH), notice=f"Coupon {coupon.code} deactivated: it no longer attributes sales.")
