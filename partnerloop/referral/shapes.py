"""The referral domain's answers: reward settings, share URLs and the API shapes of advocates and rewards."""

from __future__ import annotations

from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.models import Advocate, Program, Reward
from partnerloop.program.referral_settings import ReferralRewards
from partnerloop.referral import repository
from partnerloop.referral.schemas import AdvocateOut, RewardOut


def reward_settings(program: Program) -> ReferralRewards | None:
    """The program's reward settings (validated when saved), or None when referrals earn nothing."""
    return ReferralRewards.model_validate(program.referral_rewards) if program.referral_rewards else None


def share_url(settings: Settings, advocate: Advocate) -> str:
    return f"{settings.base_url.rstrip('/')}/r/{advocate.share_key}"


def reward_out(reward: Reward) -> RewardOut:
    return RewardOut(
        id=reward.id,
        advocate_id=reward.advocate_id,
        referral_id=reward.referral_id,
        side=reward.side,
        type=reward.type,
        amount=reward.amount,
        currency=reward.currency,
        percent=reward.percent,
        duration_months=reward.duration_months,
        code=reward.code,
        status=reward.status,
        reason=reward.reason,
        external_ref=reward.external_ref,
        last_error=reward.last_error,
        attempts=reward.attempts,
        due_at=reward.due_at,
        issued_at=reward.issued_at,
        created_at=reward.created_at,
    )


def advocate_out(settings: Settings, advocate: Advocate, referrals_count: int, rewards: list[Reward]) -> AdvocateOut:
    return AdvocateOut(
        id=advocate.id,
        customer_external_id=advocate.customer_external_id,
        email=advocate.email,
        name=advocate.name,
        stripe_customer_id=advocate.stripe_customer_id,
        referral_code=advocate.referral_code,
        share_url=share_url(settings, advocate),
        partner_id=advocate.partner_id,
        link_id=advocate.link_id,
        referrals_count=referrals_count,
        rewards=[reward_out(reward) for reward in rewards],
        created_at=advocate.created_at,
    )


def advocates_out(session: Session, settings: Settings, advocates: list[Advocate]) -> list[AdvocateOut]:
    ids = [advocate.id for advocate in advocates]
    counts = repository.referral_counts(session, ids)
    rewards = repository.rewards_of_advocates(session, ids)
    return [advocate_out(settings, a, counts.get(a.id, 0), rewards.get(a.id, [])) for a in advocates]
