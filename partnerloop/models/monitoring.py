"""Monitoring: SMART goals, alerts raised by the rule engine, and each program's alert thresholds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.kit.time import utc_now
from partnerloop.models.base import Base, Int64, created_column, id_column


class Goal(Base):
    """A measurable target for a window: program-wide, for a group, or for one partner.

    The target is absolute (`target_value`, exact decimal text: minor units for revenue, a fraction for
    rates) or relative (`relative_pct`) to the same metric over the window of the same length before start.
    """

    __tablename__ = "goals"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(30))
    target_value: Mapped[str | None] = mapped_column(String(40))
    relative_pct: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    group_id: Mapped[str | None] = mapped_column(ForeignKey("partner_groups.id"))
    achieved_at: Mapped[datetime | None]
    achieved_value: Mapped[str | None] = mapped_column(String(40))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_column()


class Alert(Base):
    """Something a rule found: open until a manager resolves or dismisses it.

    One open alert per program, kind and subject: `open_key` is "open" while it is open (the unique key
    holds) and the alert's id once closed, so a later finding opens a new one.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("program_id", "kind", "subject", "open_key"),
        Index("ix_alerts_program_status", "program_id", "status", "created_at"),
    )
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))  # high | medium | low
    category: Mapped[str] = mapped_column(String(12))  # fraud | performance
    subject: Mapped[str] = mapped_column(String(100))  # "partner:<id>", "link:<id>", "program"
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"), index=True)
    link_id: Mapped[str | None] = mapped_column(ForeignKey("links.id"))
    detail: Mapped[str] = mapped_column(String(1000))
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | resolved | dismissed
    open_key: Mapped[str] = mapped_column(String(26), default="open")
    occurrences: Mapped[int] = mapped_column(Int64, default=1)
    created_at: Mapped[datetime] = created_column()
    last_seen_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(1000))


class AlertSettings(Base):
    """A program's alert thresholds as a manager set them (absent keys take the defaults)."""

    __tablename__ = "alert_settings"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class ConversionRollup(Base):
    """Leads, sales, new customers, revenue, refunds and commissions per program, UTC day, partner, link
    ("" when none) and credit source (coupon | link | referral_code | other): what reports sum instead of
    scanning events. Rebuilt by the `reports.refresh_rollups` job for every day touched since its last run.
    Each day also has the program's own row (partner_id, link_id and source ""): the sum of that day's."""

    __tablename__ = "conversion_rollups"
    __table_args__ = (
        UniqueConstraint("program_id", "day", "partner_id", "link_id", "source"),
        Index("ix_conversion_rollups_program_partner_day", "program_id", "partner_id", "day"),  # migration 0007
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    day: Mapped[date] = mapped_column(Date)
    partner_id: Mapped[str] = mapped_column(String(26))
    link_id: Mapped[str] = mapped_column(String(26))
    source: Mapped[str] = mapped_column(String(16))
    leads: Mapped[int] = mapped_column(Int64, default=0)
    sales: Mapped[int] = mapped_column(Int64, default=0)
    new_customers: Mapped[int] = mapped_column(Int64, default=0)
    revenue_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    commissions_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class ClickDayRollup(Base):
    """Clicks per program, UTC day and partner, and per program and day (`partner_id` ""): the click
    rollups (one row per link and day) summed once by the `reports.refresh_rollups` job, so that a
    partners report or a long time series sums hundreds of rows a day instead of one per link."""

    __tablename__ = "click_day_rollups"
    # (program_id, partner_id, day): a program's own rows of a window without its partners' (migration 0007)
    __table_args__ = (
        UniqueConstraint("program_id", "day", "partner_id"),
        Index("ix_click_day_rollups_program_partner_day", "program_id", "partner_id", "day"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    day: Mapped[date] = mapped_column(Date)
    partner_id: Mapped[str] = mapped_column(String(26))  # "" for the whole program
    clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    unique_clicks: Mapped[int] = mapped_column(BigInteger, default=0)
    bot_clicks: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupState(Base):
    """How far a rollup is built: every change before `built_until` minus the safety margin is in it."""

    __tablename__ = "rollup_state"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    built_until: Mapped[datetime]
    # The last row id taken in, for additive rollups: 64, a signed click id (tracking/click_ids.py).
    position: Mapped[str | None] = mapped_column(String(64))


class ClickDimensionRollup(Base):
    """Clicks per program, UTC day, link and one of device, country or referrer host: the channels report's
    breakdowns. Added to by the `reports.refresh_rollups` job from the clicks written since its last run."""

    __tablename__ = "click_dimension_rollups"
    __table_args__ = (UniqueConstraint("program_id", "day", "link_id", "dimension", "value"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    day: Mapped[date] = mapped_column(Date)
    link_id: Mapped[str] = mapped_column(String(26))
    partner_id: Mapped[str] = mapped_column(String(26))
    dimension: Mapped[str] = mapped_column(String(16))  # device | country | referrer_host
    value: Mapped[str] = mapped_column(String(255))  # "" when unknown
    clicks: Mapped[int] = mapped_column(Int64, default=0)
    unique_clicks: Mapped[int] = mapped_column(Int64, default=0)
    bot_clicks: Mapped[int] = mapped_column(Int64, default=0)
