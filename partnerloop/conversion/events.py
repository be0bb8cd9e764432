"""Outbound webhook events of conversions (lead.created, sale.created, refund.created), sent through
webhook/service.emit in the transaction that records the event."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from partnerloop.conversion.schemas import TrackedLead, TrackedRefund, TrackedSale
from partnerloop.webhook.service import emit

Tracked = TypeVar("Tracked", TrackedLead, TrackedSale, TrackedRefund)


def tracked(session: Session, program_id: str, answer: Tracked) -> Tracked:
    """lead.created, sale.created or refund.created for a newly recorded event; returns the answer."""
    if isinstance(answer, TrackedLead):
        emit(session, program_id, "lead.created", answer.lead.model_dump(mode="json"))
    elif isinstance(answer, TrackedSale):
        emit(session, program_id, "sale.created", answer.sale.model_dump(mode="json"))
    else:
        emit(session, program_id, "refund.created", answer.refund.model_dump(mode="json"))
    return answer
