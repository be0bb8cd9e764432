"""Engagement: tiers (rank and promotion rules of a group), tier moves, announcements and who got them,
awards, monthly reviews, and each partner's engagement choices (display name, newsletters, public page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from partnerloop.models.base import Base, Int64, created_column, id_column


class GroupTier(Base):
    """A group as a tier: its rank (1 = entry) and the rules that move partners up or down from it."""

    __tablename__ = "group_tiers"
    group_id: Mapped[str] = mapped_column(ForeignKey("partner_groups.id"), primary_key=True)
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    promotion: Mapped[dict[str, Any] | None] = mapped_column()  # {"metric", "period", "threshold", "to_group_id"}
    demotion: Mapped[dict[str, Any] | None] = mapped_column()
    perks: Mapped[list[Any]] = mapped_column(default=list)  # e.g. ["early_access"]


class TierMove(Base):
    """One partner moved from one tier to another, and why."""

    __tablename__ = "tier_moves"
    __table_args__ = (Index("ix_tier_moves_program_partner", "program_id", "partner_id", "created_at"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    from_group_id: Mapped[str | None] = mapped_column(ForeignKey("partner_groups.id"))
    to_group_id: Mapped[str] = mapped_column(ForeignKey("partner_groups.id"))
    direction: Mapped[str] = mapped_column(String(10))  # promotion | demotion
    metric: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))
    period_key: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Int64)
    threshold: Mapped[int] = mapped_column(Int64)
    reason: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_column()


class EngagementSettings(Base):
    """A program's engagement switches."""

    __tablename__ = "engagement_settings"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    leaderboard_in_portal: Mapped[bool] = mapped_column(default=False)
    leaderboard_metric: Mapped[str] = mapped_column(String(20), default="revenue")
    public_partners_page: Mapped[bool] = mapped_column(default=False)


class PartnerEngagement(Base):
    """A partner's own choices in one program: how they appear to others, newsletters, the public page."""

    __tablename__ = "partner_engagement"
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(100))  # None: shown to others as "Partner #rank"
    newsletter_opt_out: Mapped[bool] = mapped_column(default=False)
    public_profile: Mapped[bool] = mapped_column(default=False)  # opted in to the program's public page
    updated_at: Mapped[datetime] = created_column()


class Announcement(Base):
    """A manager's message (Markdown) to an audience of partners, in the portal and optionally by email."""

    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_status_send_at", "status", "send_at"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict[str, Any]] = mapped_column()  # {"kind": "all|groups|tiers|inactive", "group_ids": [...]}
    email: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(12))  # scheduled | sending | sent
    send_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    recipients: Mapped[int] = mapped_column(Int64, default=0)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_column()


class AnnouncementDelivery(Base):
    """One partner in an announcement's audience: emailed or not, and when they first opened it."""

    __tablename__ = "announcement_deliveries"
    __table_args__ = (
        UniqueConstraint("announcement_id", "partner_id"),
        Index("ix_announcement_deliveries_partner", "program_id", "partner_id"),
    )
    id: Mapped[str] = id_column()
    announcement_id: Mapped[str] = mapped_column(ForeignKey("announcements.id"))
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    email_status: Mapped[str] = mapped_column(String(12))  # none | queued | sent | skipped
    emailed_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]  # first click on a link of it (from the email or the portal)
    created_at: Mapped[datetime] = created_column()


class Award(Base):
    """Recognition given to a partner ("Partner of the month")."""

    __tablename__ = "awards"
    __table_args__ = (Index("ix_awards_program_partner", "program_id", "partner_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(2000))
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_column()


class PerformanceReview(Base):
    """A partner's month: figures against the previous month, a summary made of those figures, a note."""

    __tablename__ = "performance_reviews"
    __table_args__ = (UniqueConstraint("program_id", "partner_id", "month"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    figures: Mapped[dict[str, Any]] = mapped_column()
    previous: Mapped[dict[str, Any]] = mapped_column()
    goals: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # the partner's goals of the month, as of its end
    summary: Mapped[str] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(String(4000))
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft | sent
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_column()


class Campaign(Base):
    """An incentive campaign: a time-boxed rule put at the top of a plan and/or a bonus for reaching a
    threshold within the window, its announcement, and its leaderboard for the window."""

    __tablename__ = "campaigns"
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"))  # None: a bonus-only campaign
    rule: Mapped[dict[str, Any] | None] = mapped_column()  # the rule as added to the plan (with its window)
    bonus: Mapped[dict[str, Any] | None] = mapped_column()  # {"metric", "threshold", "amount"} within the window
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    leaderboard_metric: Mapped[str] = mapped_column(String(20), default="revenue")
    announcement_id: Mapped[str | None] = mapped_column(ForeignKey("announcements.id"))
    created_at: Mapped[datetime] = created_column()


class CampaignBonusAward(Base):
    """A campaign's bonus paid to one partner (once: the unique constraint), as a commission."""

    __tablename__ = "campaign_bonus_awards"
    __table_args__ = (UniqueConstraint("campaign_id", "partner_id"),)
    id: Mapped[str] = id_column()
    program_id: Mapped[str] = mapped_column(ForeignKey("programs.id"), index=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    value: Mapped[int] = mapped_column(Int64)  # the partner's figure in the window
    amount: Mapped[int] = mapped_column(Int64)  # program currency, minor units
    commission_id: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = created_column()
