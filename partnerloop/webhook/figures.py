"""What the operator reads of webhook deliveries (/metrics): sums across programs, never one program's."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partnerloop.models import WebhookDelivery
from partnerloop.webhook.rules import DeliveryStatus


def deliveries_by_status(session: Session) -> dict[str, int]:
    """Deliveries kept (finished ones for `webhook_retention_days`) per status, across all programs: /metrics."""
    found = {status.value: 0 for status in DeliveryStatus}
    for status, count in session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    ).all():
        found[status] = int(count)
    return found
