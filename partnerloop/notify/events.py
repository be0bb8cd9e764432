"""Notifications that follow domain events: the webhook outbox's fan-out worker hands each recorded event
to `subscriber` (the wiring, job_registry, subscribes it), which queues one `notify.event` job for the
events that make a notice, in the fan-out's transaction. That job writes the emails, so a sale's
transaction adds nothing for notifications, and a rolled-back change notifies no one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from partnerloop.jobs.queue import enqueue, job_handler
from partnerloop.kit.money import email_money
from partnerloop.models import Program
from partnerloop.notify.email import email_settings
from partnerloop.notify.service import Action, notify_managers, notify_partner

NOTIFY_EVENT_JOB = "notify.event"

# The fields each event's notice needs (the rest of the resource stays out of the job's payload).
_FIELDS = {
    "commission.created": ("partner_id", "kind", "earnings_amount", "earnings_currency", "explanation", "hold_until"),
    "commission.approved": ("partner_id", "kind", "earnings_amount", "earnings_currency", "explanation"),
    "partner.created": ("id", "name", "email", "status"),
    "payout.failed": ("id", "partner_id", "amount", "currency", "method", "failure_reason"),
}
EVENT_TYPES = frozenset(_FIELDS)


def wanted(event_type: str, data: dict[str, Any]) -> bool:
    """Whether the event makes a notice: not a click's commission (one per click), not a zero or negative
    one, and a new partner only when they applied (pending), not when added or invited."""
    if event_type.startswith("commission."):
        return data.get("kind") != "click" and int(data.get("earnings_amount") or 0) > 0
    if event_type == "partner.created":
        return data.get("status") == "pending"
    return event_type in _FIELDS


def on_event(session: Session, program_id: str, event_type: str, data: dict[str, Any]) -> None:
    if event_type not in _FIELDS or not wanted(event_type, data):
        return
    fields = {name: data.get(name) for name in _FIELDS[event_type]}
    enqueue(
        session,
        NOTIFY_EVENT_JOB,
        {"type": event_type, "program_id": program_id, "data": fields},
        program_id=program_id,
        max_attempts=6,
    )


class RecordedEvent(Protocol):
    """What a subscriber reads of an outbox event (webhook/outbox.OutboxEvent; not imported: webhook sends
    its own emails through notify)."""

    @property
    def program_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...


class NotificationSubscriber:
    """The email notifications as an outbox subscriber (webhook/outbox.Integration)."""

    def listens(self, session: Session, program_id: str, event_type: str) -> bool:
        return event_type in EVENT_TYPES

    def receive(self, session: Session, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            on_event(session, event.program_id, event.type, event.data)


subscriber = NotificationSubscriber()


@job_handler(NOTIFY_EVENT_JOB)
def notify_event(session: Session, payload: dict[str, Any]) -> None:
    """Write the notice of one event (its emails are queued jobs of their own, retried on an SMTP failure)."""
    program = session.get(Program, str(payload["program_id"]))
    data: dict[str, Any] = payload["data"]
    if program is None:
        return
    base = email_settings().base_url.rstrip("/")
    event_type = str(payload["type"])
    if event_type == "commission.created":
        money = email_money(int(data["earnings_amount"]), str(data["earnings_currency"]))
        hold = str(data.get("hold_until") or "")[:10]
        notify_partner(
            session, program, str(data["partner_id"]), "commission_created",
            subject=f"You earned {money} · {program.name}",
            lines=[f"You earned a commission of {money}: {data.get('explanation') or 'a new commission'}.",
                   f"It is pending{f' until {hold}' if hold else ''}; then it counts towards your next payout."],
            action=Action("See your commissions", f"{base}/partner/commissions?program={program.id}"),
        )  # fmt: skip
    elif event_type == "commission.approved":
        money = email_money(int(data["earnings_amount"]), str(data["earnings_currency"]))
        notify_partner(
            session, program, str(data["partner_id"]), "commission_approved",
            subject=f"Your commission of {money} is approved · {program.name}",
            lines=[f"Your commission of {money} ({data.get('explanation') or 'commission'}) is approved.",
                   "It is in your balance and will be paid with your next payout."],
            action=Action("See your commissions", f"{base}/partner/commissions?program={program.id}"),
        )  # fmt: skip
    elif event_type == "partner.created":
        notify_managers(
            session, program, "new_application",
            subject=f"[{program.name}] New partner application: {data['name']}",
            lines=[f"{data['name']} ({data['email']}) applied to become a partner of {program.name}."],
            action=Action("Review the application", f"{base}/manage/applications?program={program.id}"),
        )  # fmt: skip
    elif event_type == "payout.failed":
        money = email_money(int(data["amount"]), str(data["currency"]))
        notify_managers(
            session, program, "payout_failed",
            subject=f"[{program.name}] A payout of {money} failed",
            lines=[f"The payout of {money} by {data['method']} failed: {data.get('failure_reason') or 'no reason given'}.",
                   "Its commissions are back in the partner's balance; check their payout details, then pay again."],
            action=Action("Open the partner", f"{base}/manage/partners/{data['partner_id']}?program={program.id}"),
        )  # fmt: skip
