"""Report jobs: keep the conversion and click rollups built."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now
from partnerloop.report import clicks
from partnerloop.report.conversions import refresh
from partnerloop.report.dimensions import add_new_clicks


@job_handler("reports.refresh_rollups")
def refresh_rollups(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (every minute): rebuild the conversion rollups of the days touched since the last run and
    the clicks per day and partner of the days since, and take the clicks written since into the device /
    country / referrer rollups."""
    now = utc_now()
    refresh(session, now)
    clicks.refresh(session, now)
    add_new_clicks(session, now)
