"""The job that processes a stored Stripe event."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.integrations.stripe import service
from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now


@job_handler(service.PROCESS_JOB)
def process_event(session: Session, payload: dict[str, Any]) -> None:
    """Map one received Stripe event onto tracking (see service.process_stored_event)."""
    service.process_stored_event(session, str(payload["stripe_event_id"]), utc_now())
