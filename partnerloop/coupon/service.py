"""Coupons: create (optionally as a Stripe promotion code), list, deactivate."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.coupon import repository
from partnerloop.coupon.rules import code_key, code_problem
from partnerloop.coupon.schemas import CouponIn, CouponOut
from partnerloop.integrations import stripe_api
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.time import utc_now
from partnerloop.models import Coupon, Program
from partnerloop.partner import service as partner_service
from partnerloop.program.stripe_secrets import has_stripe_secret_key


class CouponNotFound(NotFound):
    pass


class CouponCodeTaken(Conflict):
    pass


class InvalidCouponCode(InvalidInput):
    pass


class CouponPartnerNotFound(NotFound):
    pass


class CouponPartnerNotApproved(Conflict):
    pass


def active_coupon_by_code(session: Session, program_id: str, code: str) -> Coupon | None:
    """The program's active coupon with this code (any case), or None."""
    return repository.active_coupon_by_code(session, program_id, code)


def active_coupon_by_promotion_code(session: Session, program_id: str, promotion_code_id: str) -> Coupon | None:
    """The program's active coupon behind this Stripe promotion code, or None."""
    return repository.active_coupon_by_promotion_code(session, program_id, promotion_code_id)


def list_coupons(
    session: Session, program: Program, *, partner_id: str | None, active: bool | None, cursor: str | None, limit: int
) -> tuple[list[Coupon], str | None]:
    """The program's coupons, newest first, a page of `limit` and the cursor of the next page (or None)."""
    return repository.list_coupons(
        session, program.id, partner_id=partner_id, active=active, cursor=cursor, limit=limit
    )


def coupon_out(coupon: Coupon) -> CouponOut:
    return CouponOut(
        id=coupon.id,
        code=coupon.code,
        partner_id=coupon.partner_id,
        active=coupon.active,
        stripe_coupon_id=coupon.stripe_coupon_id,
        stripe_promotion_code_id=coupon.stripe_promotion_code_id,
        created_by=coupon.created_by,
        created_at=coupon.created_at,
        deactivated_at=coupon.deactivated_at,
    )


def create_coupon(session: Session, program: Program, settings: Settings, body: CouponIn, *, actor: str) -> Coupon:
    """A code tied to an approved partner, unique per program whatever its case; with
    `create_in_stripe`, first created in Stripe as a promotion code of `stripe_coupon_id`.

    Used by the manager API and the partner portal (actor says who)."""
    problem = code_problem(body.code)
    if problem is not None:
        raise InvalidCouponCode(problem)
    enrollment = partner_service.enrollment_of(session, program.id, body.partner_id)
    if enrollment is None:
        raise CouponPartnerNotFound(f"No partner {body.partner_id} in this program.")
    if enrollment.status != "approved":
        raise CouponPartnerNotApproved(
            f"Partner {body.partner_id} is {enrollment.status}: only approved partners get codes."
        )
    if repository.coupon_by_code(session, program.id, body.code) is not None:
        raise CouponCodeTaken(f"The code '{body.code}' exists already in this program (codes ignore case).")
    promotion_code_id = None
    if body.create_in_stripe:
        assert body.stripe_coupon_id is not None  # the schema requires it
        promotion_code_id = stripe_api.create_promotion_code(
            program,
            settings,
            code=body.code,
            coupon_id=body.stripe_coupon_id,
            metadata={"partnerloop_program": program.id, "partnerloop_partner": body.partner_id},
            idempotency_key=f"partnerloop-coupon-{program.id}-{code_key(body.code)}",
        )
    coupon = Coupon(
        program_id=program.id,
        partner_id=body.partner_id,
        code=body.code,
        code_key=code_key(body.code),
        stripe_coupon_id=body.stripe_coupon_id,
        stripe_promotion_code_id=promotion_code_id,
        created_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(coupon)
            session.flush()
    except IntegrityError:  # a concurrent request took the code between our check and our insert
        raise CouponCodeTaken(f"The code '{body.code}' exists already in this program (codes ignore case).")
    return coupon


def get_coupon(session: Session, program: Program, coupon_id: str) -> Coupon:
    coupon = repository.get_coupon(session, program.id, coupon_id)
    if coupon is None:
        raise CouponNotFound(f"No coupon {coupon_id} in this program.")
    return coupon


def deactivate_coupon(session: Session, program: Program, settings: Settings, coupon_id: str) -> Coupon:
    """The code stops attributing (and stops working in Stripe when it was created there); kept for history."""
    coupon = get_coupon(session, program, coupon_id)
    if not coupon.active:
        return coupon
    if coupon.stripe_promotion_code_id and has_stripe_secret_key(program):
        stripe_api.deactivate_promotion_code(program, settings, coupon.stripe_promotion_code_id)
    coupon.active = False
    coupon.deactivated_at = utc_now()
    session.flush()
    return coupon
