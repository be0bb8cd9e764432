"""Referral jobs: issuing one due reward, and the sweep that queues due rewards nothing queued."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.config import Settings, get_settings
from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now
from partnerloop.models import Program
from partnerloop.referral import service

SWEEP_JOB = "referral.sweep_due_rewards"
_configured: Settings | None = None


def configure_referrals(settings: Settings | None) -> None:
    """Use these settings (STRIPE_API_BASE, BASE_URL) in referral jobs; None: the environment's."""
    global _configured
    _configured = settings


def referral_settings() -> Settings:
    return _configured or get_settings()


@job_handler(service.ISSUE_JOB)
def issue_reward(session: Session, payload: dict[str, Any]) -> None:
    """Issue one reward (service.issue_reward records Stripe's failures and schedules the retry itself)."""
    service.issue_reward(session, referral_settings(), str(payload["reward_id"]), utc_now())


@job_handler(SWEEP_JOB)
def sweep_due_rewards(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic: due pending rewards of programs with referral rewards are queued (e.g. a Stripe key set later)."""
    now = utc_now()
    for program in session.execute(select(Program).where(Program.referral_rewards.is_not(None))).scalars():
        service.issue_due(session, program, now)
