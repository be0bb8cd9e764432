"""Engagement API shapes: announcements, leaderboard, awards, reviews, settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: str = Field(default="", max_length=50_000)
    group_ids: list[str] | None = None
    email: bool = False
    audience: Literal["all", "groups", "tiers", "inactive"] | None = None  # default: groups when group_ids, else all
    send_at: datetime | None = None  # later: scheduled; absent or past: sent now


class AnnouncementFigures(BaseModel):
    recipients: int = 0
    emailed: int = 0  # handed to the mail relay
    email_queued: int = 0  # still waiting for their batch
    email_skipped: int = 0  # banned or unsubscribed by the time their batch ran
    opened: int = 0  # opened in the portal
    clicked: int = 0  # partners who clicked a link of it (tracked links, in the email or the portal)


class AnnouncementOut(BaseModel):
    id: str
    title: str
    body: str
    body_html: str
    audience: dict[str, Any]
    group_ids: list[str]
    email: bool
    status: str
    send_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    figures: AnnouncementFigures


class AnnouncementList(BaseModel):
    data: list[AnnouncementOut]
    next_cursor: str | None


class LeaderboardRow(BaseModel):
    rank: int
    partner_id: str
    name: str
    value: int


class Leaderboard(BaseModel):
    metric: str
    period: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    currency: str
    data: list[LeaderboardRow]


class AwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner_id: str
    name: Title
    note: str | None = Field(default=None, max_length=2000)
    public: bool = False


class AwardOut(BaseModel):
    id: str
    partner_id: str
    name: str
    note: str | None
    public: bool
    created_at: datetime


class AwardList(BaseModel):
    data: list[AwardOut]
    next_cursor: str | None = None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


class ReviewNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=4000)
    send: bool = False


class ReviewOut(BaseModel):
    id: str
    partner_id: str
    month: str
    figures: dict[str, Any]
    previous: dict[str, Any]
    goals: list[dict[str, Any]] = []  # the partner's goals of the month: name, metric, current, target, percent
    summary: str
    note: str | None
    status: str
    sent_at: datetime | None
    created_at: datetime


class TierMoveOut(BaseModel):
    """One tier move (the `partner.tier_changed` webhook's data): who moved, from which tier to which, and why."""

    id: str
    partner_id: str
    from_group_id: str | None
    from_tier: str | None
    to_group_id: str
    to_tier: str
    direction: Literal["promotion", "demotion"]
    metric: str
    period: str
    period_key: str
    value: int
    threshold: int
    reason: str
    created_at: datetime


class ReviewList(BaseModel):
    data: list[ReviewOut]
    next_cursor: str | None = None


class EngagementSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leaderboard_in_portal: bool | None = None
    leaderboard_metric: Literal["revenue", "sales", "leads", "new_customers"] | None = None
    public_partners_page: bool | None = None


class EngagementSettingsOut(BaseModel):
    leaderboard_in_portal: bool
    leaderboard_metric: str
    public_partners_page: bool


class CampaignAnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: str = Field(default="", max_length=50_000)
    email: bool = True


class CampaignBonusIn(BaseModel):
    """A flat bonus (program currency, minor units) for each partner whose `metric` reaches `threshold` within
    the campaign's window; paid once per partner as a commission when the campaign ends."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["revenue", "sales", "leads", "new_customers"]
    threshold: int = Field(gt=0, le=10**12)
    amount: int = Field(gt=0, le=10**9)


class CampaignIn(BaseModel):
    """One form: a time-boxed sale rule put first in a plan and/or a bonus for the window, its announcement,
    its leaderboard window."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Title
    plan_id: str | None = None  # the plan the rule goes into (needed with `reward`)
    starts: datetime = Field(alias="from")
    until: datetime
    reward: dict[str, Any] | None = (
        None  # as in a plan rule: {"type": "percent", "rate_bps": 3000} or {"type": "flat", "amount": 500}
    )
    conditions: list[dict[str, Any]] | None = None
    bonus: CampaignBonusIn | None = None
    leaderboard_metric: Literal["revenue", "sales", "leads", "new_customers"] = "revenue"
    announcement: CampaignAnnouncementIn | None = None


class CampaignResults(BaseModel):
    """Revenue during the window against the same length of time just before it."""

    revenue_amount: int
    previous_revenue_amount: int
    sales: int
    previous_sales: int
    leaderboard: list[LeaderboardRow]
    bonuses_paid: int = 0  # partners paid the campaign's bonus (once it ended)
    bonuses_amount: int = 0


class CampaignOut(BaseModel):
    id: str
    name: str
    plan_id: str | None
    rule: dict[str, Any] | None
    bonus: dict[str, Any] | None = None
    from_: datetime = Field(serialization_alias="from")
    until: datetime
    leaderboard_metric: str
    announcement_id: str | None
    status: str  # upcoming | running | ended
    results: CampaignResults
    created_at: datetime


class CampaignList(BaseModel):
    data: list[CampaignOut]
    next_cursor: str | None = None
