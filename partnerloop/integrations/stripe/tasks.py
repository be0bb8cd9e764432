"""The jobs that process a stored Stripe event and retry events waiting for a click."""

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


@job_handler(service.RETRY_CLICK_WAITS_JOB)
def retry_click_waits(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic: events waiting for a click are tried again on their backoff (service.retry_click_waits)."""
    service.retry_click_waits(session, utc_now())
