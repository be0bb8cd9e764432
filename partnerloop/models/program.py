from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, Int64, created_column, id_column


class Program(Base):
    __tablename__ = "programs"
    id: Mapped[str] = id_column()
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="affiliate")
    currency: Mapped[str] = mapped_column(String(3))
    allowed_domains: Mapped[list[Any]] = mapped_column(default=list)
    link_params: Mapped[list[Any]] = mapped_column(default=lambda: ["ref", "via"])
    link_domains: Mapped[list[Any]] = mapped_column(default=list)  # hosts where GET /{key} redirects
    cookie_days: Mapped[int] = mapped_column(Integer, default=90)
    attribution_model: Mapped[str] = mapped_column(String(20), default="last_click")
    hold_days: Mapped[int] = mapped_column(Integer, default=30)
    min_payout_amount: Mapped[int] = mapped_column(Int64, default=5000)
    default_plan_id: Mapped[str | None] = mapped_column(
        ForeignKey("plans.id", use_alter=True, name="fk_programs_default_plan_id_plans")
    )
    publishable_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Sealed (kit/sealing.py): read them through program/stripe_secrets.py.
    stripe_webhook_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    stripe_secret_key_encrypted: Mapped[str | None] = mapped_column(Text)  # for creating promotion codes
    stripe_test_mode: Mapped[bool] = mapped_column(default=True)  # also accept test-mode (livemode false) events
    fallback_url: Mapped[str | None] = mapped_column(String(2000))
    referral_rewards: Mapped[dict[str, Any] | None] = mapped_column()  # referral/schemas.ReferralRewards
    widget_secret: Mapped[str | None] = mapped_column(String(64))  # keys the referral widget's tokens
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now, index=True)


class ApiKey(Base):
    """A program-scoped secret key, stored only as its SHA-256 (keys carry 256 random bits; older ones 192)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_column()
    revoked_at: Mapped[datetime | None]
