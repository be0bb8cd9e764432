from __future__ import annotations

from fastapi import APIRouter, Query

from partnerloop.coupon import service
from partnerloop.coupon.schemas import CouponIn, CouponList, CouponOut
from partnerloop.deps import Api

router = APIRouter(prefix="/api/v1/coupons", tags=["coupons"])


@router.post("", summary="Create a coupon", status_code=201)
def create_coupon(body: CouponIn, api: Api) -> CouponOut:
    return service.coupon_out(service.create_coupon(api.session, api.program, api.settings, body, actor=api.actor))


@router.get("", summary="List coupons")
def list_coupons(
    api: Api,
    partner_id: str | None = None,
    active: bool | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> CouponList:
    coupons, next_cursor = service.list_coupons(
        api.session, api.program, partner_id=partner_id, active=active, cursor=cursor, limit=limit
    )
    return CouponList(data=[service.coupon_out(coupon) for coupon in coupons], next_cursor=next_cursor)


@router.get("/{coupon_id}", summary="Get a coupon")
def get_coupon(coupon_id: str, api: Api) -> CouponOut:
    return service.coupon_out(service.get_coupon(api.session, api.program, coupon_id))


@router.delete("/{coupon_id}", summary="Deactivate a coupon")
def deactivate_coupon(coupon_id: str, api: Api) -> CouponOut:
    """Deactivate (codes are kept for history): answers the coupon, now inactive."""
    return service.coupon_out(service.deactivate_coupon(api.session, api.program, api.settings, coupon_id))
