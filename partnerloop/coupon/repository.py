"""Coupons: all SQL, scoped by program."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.coupon.rules import code_key
from partnerloop.kit.pagination import page_of, paginate
from partnerloop.models import Coupon


def coupon_by_code(session: Session, program_id: str, code: str) -> Coupon | None:
    return session.execute(
        select(Coupon).where(Coupon.program_id == program_id, Coupon.code_key == code_key(code))
    ).scalar_one_or_none()


def active_coupon_by_code(session: Session, program_id: str, code: str) -> Coupon | None:
    coupon = coupon_by_code(session, program_id, code)
    return coupon if coupon is not None and coupon.active else None


def active_coupon_by_promotion_code(session: Session, program_id: str, promotion_code_id: str) -> Coupon | None:
    return session.execute(
        select(Coupon).where(
            Coupon.program_id == program_id,
            Coupon.stripe_promotion_code_id == promotion_code_id,
            Coupon.active.is_(True),
        )
    ).scalar_one_or_none()


def get_coupon(session: Session, program_id: str, coupon_id: str) -> Coupon | None:
    return session.execute(
        select(Coupon).where(Coupon.program_id == program_id, Coupon.id == coupon_id)
    ).scalar_one_or_none()


def list_coupons(
    session: Session, program_id: str, *, partner_id: str | None, active: bool | None, cursor: str | None, limit: int
) -> tuple[list[Coupon], str | None]:
    statement = select(Coupon).where(Coupon.program_id == program_id)
    if partner_id is not None:
        statement = statement.where(Coupon.partner_id == partner_id)
    if active is not None:
        statement = statement.where(Coupon.active.is_(active))
    rows = list(session.execute(paginate(statement, Coupon.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda coupon: coupon.id)
