"""Referral jobs: issuing the due rewards (queued when a reward falls due, and run periodically too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.config import Settings, get_settings
from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now
from partnerloop.referral import service

_configured: Settings | None = None


def configure_referrals(settings: Settings | None) -> None:
    """Use these settings (STRIPE_API_BASE, BASE_URL) in referral jobs; None: the environment's."""
    global _configured
    _configured = settings


def referral_settings() -> Settings:
    return _configured or get_settings()


@job_handler(service.ISSUE_JOB)
def issue_due_rewards(session: Session, _payload: dict[str, Any]) -> None:
    """Issue the due pending rewards, a batch at a time (service.issue_due_rewards records Stripe's
    failures and schedules the retries itself). Periodic too: rewards waiting for a Stripe key set later."""
    service.issue_due_rewards(session, referral_settings(), utc_now())
