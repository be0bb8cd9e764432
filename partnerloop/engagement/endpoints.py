"""Engagement API: announcements, the leaderboard, awards, monthly reviews, the program's switches."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from partnerloop.deps import Api
from partnerloop.engagement import repository
from partnerloop.engagement.schemas import (
    AnnouncementIn,
    AnnouncementList,
    AnnouncementOut,
    AwardIn,
    AwardList,
    AwardOut,
    CampaignIn,
    CampaignList,
    CampaignOut,
    EngagementSettingsIn,
    EngagementSettingsOut,
    Leaderboard,
    ReviewIn,
    ReviewList,
    ReviewNoteIn,
    ReviewOut,
)
from partnerloop.engagement.service import announcements, awards, campaigns, leaderboard, reviews
from partnerloop.kit.time import as_utc, utc_now

router = APIRouter(tags=["engagement"])


@router.post("/api/v1/announcements", summary="Create an announcement", status_code=201)
def create_announcement(body: AnnouncementIn, api: Api) -> AnnouncementOut:
    announcement = announcements.create_announcement(api.session, api.program, body, now=utc_now(), actor=api.actor)
    return announcements.announcements_out(api.session, [announcement])[0]


@router.get("/api/v1/announcements", summary="List announcements")
def list_announcements(
    api: Api, cursor: str | None = None, limit: int = Query(default=50, ge=1, le=100)
) -> AnnouncementList:
    rows, next_cursor = announcements.list_announcements(api.session, api.program, cursor, limit)
    return AnnouncementList(data=announcements.announcements_out(api.session, rows), next_cursor=next_cursor)


@router.get("/api/v1/announcements/{announcement_id}", summary="Get an announcement")
def get_announcement(announcement_id: str, api: Api) -> AnnouncementOut:
    announcement = announcements.get_announcement(api.session, api.program, announcement_id)
    return announcements.announcements_out(api.session, [announcement])[0]


@router.get("/api/v1/leaderboard", summary="Get the leaderboard", response_model_by_alias=True)
def get_leaderboard(
    api: Api,
    metric: str = "revenue",
    period: str = "month",
    start: datetime | None = Query(default=None, alias="from"),
    limit: int = Query(default=100, ge=1, le=100),
) -> Leaderboard:
    return leaderboard.leaderboard(
        api.session, api.program, metric, period, as_utc(start) if start else None, utc_now(), limit
    )


@router.post("/api/v1/awards", summary="Give an award", status_code=201)
def give_award(body: AwardIn, api: Api) -> AwardOut:
    return awards.award_out(awards.give_award(api.session, api.program, body))


@router.get("/api/v1/awards", summary="List awards")
def list_awards(api: Api, partner_id: str | None = None) -> AwardList:
    return AwardList(data=[awards.award_out(award) for award in awards.awards_of(api.session, api.program, partner_id)])


@router.get("/api/v1/partners/{partner_id}/reviews", summary="List a partner's reviews")
def list_reviews(partner_id: str, api: Api) -> ReviewList:
    return ReviewList(data=[reviews.review_out(r) for r in reviews.reviews_of(api.session, api.program, partner_id)])


@router.post("/api/v1/partners/{partner_id}/reviews", summary="Review a partner", status_code=201)
def make_review(partner_id: str, body: ReviewIn, api: Api) -> ReviewOut:
    return reviews.review_out(reviews.make_review(api.session, api.program, partner_id, body.month, utc_now()))


@router.patch("/api/v1/reviews/{review_id}", summary="Add a note to a review")
def note_review(review_id: str, body: ReviewNoteIn, api: Api) -> ReviewOut:
    review = reviews.note_and_send(api.session, api.settings, api.program, review_id, body.note, body.send, utc_now())
    return reviews.review_out(review)


def _settings_out(api: Api) -> EngagementSettingsOut:
    found = repository.settings_of(api.session, api.program.id)
    return EngagementSettingsOut(
        leaderboard_in_portal=found.leaderboard_in_portal, leaderboard_metric=found.leaderboard_metric,
        public_partners_page=found.public_partners_page,
    )  # fmt: skip


@router.get("/api/v1/engagement/settings", summary="Get the engagement settings")
def get_settings(api: Api) -> EngagementSettingsOut:
    return _settings_out(api)


@router.patch("/api/v1/engagement/settings", summary="Change the engagement settings")
def patch_settings(body: EngagementSettingsIn, api: Api) -> EngagementSettingsOut:
    found = repository.settings_of(api.session, api.program.id)
    for key, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(found, key, value)
    repository.save_settings(api.session, found)
    return _settings_out(api)


@router.post("/api/v1/campaigns", summary="Create a campaign", status_code=201)
def create_campaign(body: CampaignIn, api: Api) -> CampaignOut:
    now = utc_now()
    campaign = campaigns.create_campaign(api.session, api.program, body, now=now, actor=api.actor)
    return campaigns.campaign_out(api.session, api.program, campaign, now)


@router.get("/api/v1/campaigns", summary="List campaigns")
def list_campaigns(api: Api) -> CampaignList:
    now = utc_now()
    rows = campaigns.list_campaigns(api.session, api.program)
    return CampaignList(data=[campaigns.campaign_out(api.session, api.program, row, now) for row in rows])


@router.get("/api/v1/campaigns/{campaign_id}", summary="Get a campaign")
def get_campaign(campaign_id: str, api: Api) -> CampaignOut:
    campaign = campaigns.get_campaign(api.session, api.program, campaign_id)
    return campaigns.campaign_out(api.session, api.program, campaign, utc_now())
