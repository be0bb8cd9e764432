"""Alert jobs: the every-minute click scan and the hourly performance scan."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.alert.service import scan_clicks, scan_performance
from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now


@job_handler("alerts.scan_clicks")
def scan_clicks_job(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (every minute): click spikes, IP concentration and bot share over the last minutes."""
    scan_clicks(session, utc_now())


@job_handler("alerts.scan_performance")
def scan_performance_job(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (hourly): dips, conversion drops, quiet partners, refund rates, leads without sales."""
    scan_performance(session, utc_now())
