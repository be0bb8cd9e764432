"""Commission jobs: approval once the program's hold period has passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.commission import repository
from partnerloop.commission.events import announce_approved
from partnerloop.commission.rules import CommissionStatus
from partnerloop.jobs.queue import enqueue, job_handler
from partnerloop.kit.time import utc_now
from partnerloop.ledger import service as ledger

ACTOR = "job:approve_due_commissions"
APPROVE_DUE_JOB = "approve_due_commissions"
BATCH = 2_000  # commissions approved in one transaction (ledger entries and events within the parameter limit)


def approve_due(session: Session, now: datetime, limit: int = BATCH) -> int:
    """Approve up to `limit` pending commissions whose hold_until has passed at `now` and whose partner can
    still earn, posting each move (pending -> approved) to the ledger in the same transaction; return how many."""
    approved = repository.approve_due(session, now, limit)
    ledger.post_status_changes(
        session,
        (
            ledger.StatusChange(
                commission_id,
                program_id,
                partner_id,
                currency,
                earnings,
                CommissionStatus.PENDING.value,
                CommissionStatus.APPROVED.value,
            )
            for commission_id, program_id, partner_id, currency, earnings in approved
        ),
        actor=ACTOR,
        memo="hold period over",
    )
    announce_approved(session, [row[0] for row in approved])
    return len(approved)


@job_handler(APPROVE_DUE_JOB)
def approve_due_commissions(session: Session, _payload: dict[str, Any]) -> None:
    """Periodic (every minute): pending commissions past their hold period become approved, a batch per
    transaction; a full batch queues the next one at once (a history imported with a million due commissions
    is approved in batches within minutes, not one batch a minute)."""
    if approve_due(session, utc_now(), BATCH) == BATCH:
        enqueue(session, APPROVE_DUE_JOB)
