"""Incentive campaigns: one form makes a time-boxed rule at the top of a plan (what plans already express,
through plan/service) and/or a bonus for reaching a threshold within the window (paid once per partner as a
commission, through commission/service, by a job when the campaign ends), its announcement, and its
leaderboard for the window; results afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.commission.schemas import ManualCommissionIn
from partnerloop.engagement import repository
from partnerloop.engagement.rules import metric_text, rank_partners
from partnerloop.engagement.schemas import (
    AnnouncementIn,
    CampaignBonusIn,
    CampaignIn,
    CampaignOut,
    CampaignResults,
    LeaderboardRow,
)
from partnerloop.engagement.service import announcements
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import as_utc
from partnerloop.models import Campaign, Program
from partnerloop.plan import service as plan_service
from partnerloop.plan.schemas import PlanPatch, parse_stored_rules


class CampaignInvalid(InvalidInput):
    pass


class CampaignNotFound(NotFound):
    pass


PAY_BONUSES_JOB = "engagement.pay_campaign_bonuses"


def create_campaign(session: Session, program: Program, body: CampaignIn, *, now: datetime, actor: str) -> Campaign:
    """Put the campaign's rule first in the plan (so it decides within its window) and/or schedule its bonus,
    announce it (at its start, or now when it has started), and record the campaign. Bad input is a 422
    naming the field; nothing is kept."""
    try:
        starts, until = as_utc(body.starts), as_utc(body.until)
    except OverflowError:  # '0001-01-01T00:00:00+14:00' is before year 1 in UTC
        raise CampaignInvalid("from and until must be within the years 1 to 9999 in UTC.") from None
    if until <= starts:
        raise CampaignInvalid("until: the campaign must end after it starts.")
    if until <= now:
        raise CampaignInvalid("until: the campaign would be over already.")
    if body.reward is None and body.bonus is None:
        raise CampaignInvalid("reward: a campaign needs a rule (reward) or a bonus, or both.")
    plan_id, stored_rule = _add_rule(session, program, body, starts, until) if body.reward else (None, None)
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
        program_id=program.id, name=body.name, plan_id=plan_id, rule=stored_rule, starts_at=starts, ends_at=until,
        bonus=body.bonus.model_dump() if body.bonus else None, leaderboard_metric=body.leaderboard_metric,
        announcement_id=announcement_id,
    )  # fmt: skip
    session.add(campaign)
    session.flush()
    if body.bonus is not None:
        enqueue(session, PAY_BONUSES_JOB, {"campaign_id": campaign.id}, run_at=until,
                unique_key=f"{PAY_BONUSES_JOB}:{campaign.id}", program_id=program.id)  # fmt: skip
    return campaign


def _add_rule(
    session: Session, program: Program, body: CampaignIn, starts: datetime, until: datetime
) -> tuple[str, dict[str, Any]]:
    """The campaign's sale rule put first in its plan; returns (plan id, the rule as stored)."""
    if not body.plan_id:
        raise CampaignInvalid("plan_id: a campaign with a rule (reward) needs the plan it goes into.")
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
    return plan.id, parse_stored_rules(plan.rules)[0].stored()


def pay_bonuses(session: Session, campaign_id: str, now: datetime, *, actor: str = "campaign") -> int:
    """Once the campaign has ended: its bonus to every approved partner whose metric within the window reached
    the threshold, once each (the award's unique constraint), as a pending commission that follows the
    program's hold like any other. Returns how many were paid by this call."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.bonus is None or as_utc(campaign.ends_at) > now:
        return 0
    program = session.get(Program, campaign.program_id)
    assert program is not None
    bonus = CampaignBonusIn.model_validate(campaign.bonus)
    figures = repository.metric_by_partner(
        session, program.id, bonus.metric, as_utc(campaign.starts_at), as_utc(campaign.ends_at)
    )
    approved = set(repository.approved_partner_ids(session, program.id))
    paid = 0
    for partner_id, value in sorted(figures.items()):
        if partner_id not in approved or value < bonus.threshold:
            continue
        award_id = new_id()
        if not repository.add_bonus_award(session, {
            "id": award_id, "program_id": program.id, "campaign_id": campaign.id, "partner_id": partner_id,
            "value": value, "amount": bonus.amount, "commission_id": None, "created_at": now,
        }):  # fmt: skip
            continue  # paid before
        reason = (
            f"Campaign bonus “{campaign.name}”: {metric_text(bonus.metric, value, program.currency)} from "
            f"{campaign.starts_at:%Y-%m-%d} to {campaign.ends_at:%Y-%m-%d} reached "
            f"{metric_text(bonus.metric, bonus.threshold, program.currency)}."
        )
        commission = commission_service.create_manual_commission(
            session, program,
            ManualCommissionIn(partner_id=partner_id, amount=bonus.amount, reason=reason[:500], status="pending"),
            actor=actor,
        )  # fmt: skip
        repository.set_bonus_commission(session, award_id, commission.id)
        paid += 1
    return paid


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
    # The window as long before it, for the comparison figures; a window from year 1 has none before it.
    before = starts - (ends - starts) if starts - datetime.min.replace(tzinfo=UTC) > ends - starts else starts
    window_end = min(ends, max(now, starts))
    revenue = repository.metric_by_partner(session, program.id, "revenue", starts, window_end)
    metric = repository.metric_by_partner(session, program.id, campaign.leaderboard_metric, starts, window_end)
    ranked = rank_partners(metric)[:20]
    names = repository.partner_names(session, program.id, [pid for _rank, pid, _value in ranked])
    status = "upcoming" if now < starts else "running" if now < ends else "ended"
    bonuses_paid, bonuses_amount = repository.bonus_totals(session, campaign.id)
    return CampaignOut(
        id=campaign.id, name=campaign.name, plan_id=campaign.plan_id, rule=campaign.rule, bonus=campaign.bonus,
        from_=starts, until=ends,
        leaderboard_metric=campaign.leaderboard_metric, announcement_id=campaign.announcement_id, status=status,
        created_at=campaign.created_at,
        results=CampaignResults(
            revenue_amount=_total(revenue),
            previous_revenue_amount=_total(repository.metric_by_partner(session, program.id, "revenue", before, starts)),
            sales=_total(repository.metric_by_partner(session, program.id, "sales", starts, window_end)),
            previous_sales=_total(repository.metric_by_partner(session, program.id, "sales", before, starts)),
            leaderboard=[LeaderboardRow(rank=r, partner_id=p, name=names.get(p, ""), value=v) for r, p, v in ranked],
            bonuses_paid=bonuses_paid, bonuses_amount=bonuses_amount,
        ),
    )  # fmt: skip
