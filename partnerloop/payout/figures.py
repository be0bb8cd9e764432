"""What the operator reads of payouts (/metrics): sums across programs, never one program's."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.models import Payout
from partnerloop.payout.rules import PayoutStatus


def payouts_by_status(session: Session) -> dict[str, int]:
    """Payouts per status across all programs (one aggregate over the status index): /metrics."""
    found = {status.value: 0 for status in PayoutStatus}
    for status, count in session.execute(select(Payout.status, func.count()).group_by(Payout.status)).all():
        found[status] = int(count)
    return found
