"""Coupon codes: a code that attributes a sale to a partner without any click."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, created_column, id_column


class Coupon(Base):
    """Unique per program case-insensitively (code_key is the lower-cased code); deactivated, never deleted."""

    __tablename__ = "coupons"
    __table_args__ = (UniqueConstraint("program_id", "code_key"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    code: Mapped[str] = mapped_column(String(100))  # as the partner or manager wrote it
    code_key: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    stripe_coupon_id: Mapped[str | None] = mapped_column(String(255))
    stripe_promotion_code_id: Mapped[str | None] = mapped_column(String(255), index=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_column()
    deactivated_at: Mapped[datetime | None]
