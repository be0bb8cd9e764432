"""Goal jobs: record the goals reached and tell their owners."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from partnerloop.goal.service import check_goals
from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now


@job_handler("goals.check")
def check_goals_job(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (every minute): goals reached since the last run are recorded and their owners emailed."""
    check_goals(session, utc_now())
