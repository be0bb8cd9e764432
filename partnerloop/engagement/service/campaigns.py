"""Incentive campaigns: one form makes a time-boxed rule at the top of a plan (what plans already express,
through plan/service), its announcement, and its leaderboard for the window; results afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.engagement import repository
from partnerloop.engagement.rules import rank_partners
from partnerloop.engagement.schemas import AnnouncementIn, CampaignIn, CampaignOut, CampaignResults, LeaderboardRow
from partnerloop.engagement.service import announcements
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.time import as_utc
from partnerloop.models import Campaign, Program
from partnerloop.plan import service as plan_service
from partnerloop.plan.schemas import PlanPatch, parse_stored_rules


class CampaignInvalid(InvalidInput):
    pass


class CampaignNotFound(NotFound):
    pass


def create_campaign(session: Session, program: Program, body: CampaignIn, *, now: datetime, actor: str) -> Campaign:
    """Put the campaign's rule first in the plan (so it decides within its window), announce it (at its start,
    or now when it has started), and record the campaign. Bad input is a 422 naming the field; nothing is kept."""
    starts, until = as_utc(body.starts), as_utc(body.until)
    if until <= starts:
        raise CampaignInvalid("until: the campaign must end after it starts.")
    if until <= now:
        raise CampaignInvalid("until: the campaign would be over already.")
    plan = plan_service.get_plan(session, program, body.plan_id)
    rule: dict[str, Any] = {
        "event": "sale",
        "name": body.name[:100],
        "reward": body.reward,
        "duration": {"kind": "lifetime"},  # any sale inside the window
        "active": {"from": starts.isoformat(), "until": until.isoformat()},
    }
    if body.conditions:
        rule["conditions"] = body.conditions
    try:
        patch = PlanPatch.model_validate({"rules": [rule, *plan.rules]})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"][2:]) or "reward"
        raise CampaignInvalid(f"{where}: {first['msg']}") from None
    plan_service.update_plan(session, program, plan.id, patch)
    stored_rule = parse_stored_rules(plan.rules)[0].stored()
    announcement_id = None
    if body.announcement is not None:
        announcement = announcements.create_announcement(
            session,
            program,
            AnnouncementIn(
                title=body.announcement.title,
                body=body.announcement.body,
                email=body.announcement.email,
                send_at=starts if starts > now else None,
            ),
            now=now,
            actor=actor,
        )
        announcement_id = announcement.id
    campaign = Campaign(
        program_id=program.id, name=body.name, plan_id=plan.id, rule=stored_rule, starts_at=starts, ends_at=until,
        leaderboard_metric=body.leaderboard_metric, announcement_id=announcement_id,
    )  # fmt: skip
    session.add(campaign)
    session.flush()
    return campaign


def get_campaign(session: Session, program: Program, campaign_id: str) -> Campaign:
    found = session.execute(
        select(Campaign).where(Campaign.id == campaign_id, Campaign.program_id == program.id)
    ).scalar_one_or_none()
    if found is None:
        raise CampaignNotFound(f"No campaign {campaign_id} in this program.")
    return found


def list_campaigns(session: Session, program: Program) -> list[Campaign]:
    statement = select(Campaign).where(Campaign.program_id == program.id).order_by(Campaign.starts_at.desc())
    return list(session.execute(statement).scalars())


def _total(values: dict[str, int]) -> int:
    return sum(values.values())


def campaign_out(session: Session, program: Program, campaign: Campaign, now: datetime) -> CampaignOut:
    """The campaign with its results so far: revenue and sales in the window against the same span before it."""
    starts, ends = as_utc(campaign.starts_at), as_utc(campaign.ends_at)
    before = starts - (ends - starts)
    window_end = min(ends, max(now, starts))
    revenue = repository.metric_by_partner(session, program.id, "revenue", starts, window_end)
    metric = repository.metric_by_partner(session, program.id, campaign.leaderboard_metric, starts, window_end)
    ranked = rank_partners(metric)[:20]
    names = repository.partner_names(session, program.id, [pid for _rank, pid, _value in ranked])
    status = "upcoming" if now < starts else "running" if now < ends else "ended"
    return CampaignOut(
        id=campaign.id, name=campaign.name, plan_id=campaign.plan_id, rule=campaign.rule, from_=starts, until=ends,
        leaderboard_metric=campaign.leaderboard_metric, announcement_id=campaign.announcement_id, status=status,
        created_at=campaign.created_at,
        results=CampaignResults(
            revenue_amount=_total(revenue),
            previous_revenue_amount=_total(repository.metric_by_partner(session, program.id, "revenue", before, starts)),
            sales=_total(repository.metric_by_partner(session, program.id, "sales", starts, window_end)),
            previous_sales=_total(repository.metric_by_partner(session, program.id, "sales", before, starts)),
            leaderboard=[LeaderboardRow(rank=r, partner_id=p, name=names.get(p, ""), value=v) for r, p, v in ranked],
        ),
    )  # fmt: skip
