"""Report jobs: keep the conversion rollups built."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now
from partnerloop.report.conversions import refresh
from partnerloop.report.dimensions import add_new_clicks


@job_handler("reports.refresh_rollups")
def refresh_rollups(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (every minute): rebuild the conversion rollups of the days touched since the last run, and
    take the clicks written since into the device / country / referrer rollups."""
    now = utc_now()
    refresh(session, now)
    add_new_clicks(session, now)
