"""Commission jobs: approval once the program's hold period has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from partnerloop.jobs.queue import job_handler
from partnerloop.kit.time import utc_now
from partnerloop.models import Commission


def approve_due(session: Session, now: datetime) -> int:
    """Approve every pending commission whose hold_until has passed at `now`; return how many."""
    result = session.execute(
        update(Commission)
        .where(Commission.status == "pending", Commission.hold_until <= now)
        .values(status="approved", status_changed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


@job_handler("approve_due_commissions")
def approve_due_commissions(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (every minute): pending commissions past their hold period become approved."""
    approve_due(session, utc_now())
