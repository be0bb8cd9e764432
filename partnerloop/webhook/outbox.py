"""The outbox of domain events: one row in the request, the fan-out on a worker.

`record` (behind webhook/service.emit) writes one `webhook.fanout` job holding the event, in the
caller's transaction: a rolled-back change sends nothing, a committed one cannot lose its event, and
tracking pays one INSERT whoever listens (it paid four statements when emit matched endpoints and wrote
deliveries itself). The webhook-id (`msg_…`) and timestamp are fixed there, so every attempt carries
the same ones. A worker takes fan-out jobs in batches, in the order recorded, matches each program's
active endpoints, writes the events, their deliveries and deliver jobs, and hands the events to the
integrations that subscribed (Slack, HubSpot: registered by the wiring, job_registry.py), all in the
transaction that marks the fan-out jobs done. A worker killed mid-fan-out leaves the jobs to be
claimed again; nothing was written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from partnerloop.jobs.queue import JobSpec, SplitJobHandler, enqueue_many, split_job_handler
from partnerloop.kit.ids import new_id
from partnerloop.kit.time import utc_now
from partnerloop.webhook import repository
from partnerloop.webhook.rules import DeliveryStatus, receives_event

FANOUT_JOB = "webhook.fanout"
DELIVER_JOB = "webhook.deliver"
DELIVER_JOB_ATTEMPTS = 5  # the job's own retries: only when our side fails (database, a bug), not the receiver
FANOUT_JOB_ATTEMPTS = 8
FANOUT_BATCH = 200  # events fanned out together: one read of endpoints, three inserts


@dataclass(frozen=True)
class OutboxEvent:
    """A domain event as recorded: its webhook-id, program, type, time and JSON-ready data."""

    id: str
    program_id: str
    type: str
    created_at: datetime
    data: dict[str, Any]

    @property
    def body(self) -> str:
        """The webhook request body (Standard Webhooks' {type, timestamp, data})."""
        timestamp = self.created_at.isoformat().replace("+00:00", "Z")
        return json.dumps({"type": self.type, "timestamp": timestamp, "data": self.data}, separators=(",", ":"))

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "program_id": self.program_id,
            "type": self.type,
            "at": self.created_at.isoformat(),
            "data": self.data,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OutboxEvent:
        return cls(
            id=str(payload["id"]),
            program_id=str(payload["program_id"]),
            type=str(payload["type"]),
            created_at=datetime.fromisoformat(str(payload["at"])),
            data=dict(payload["data"]),
        )


class Integration(Protocol):
    """A subscriber to the outbox besides webhook endpoints (integrations/slack, integrations/hubspot)."""

    def listens(self, session: Session, program_id: str, event_type: str) -> bool: ...

    def receive(self, session: Session, events: Sequence[OutboxEvent]) -> None:
        """In the fan-out's transaction: enqueue whatever the events call for (never call out here)."""
        ...


_integrations: list[Integration] = []


def subscribe(integration: Integration) -> None:
    """Hand every fanned-out event to `integration` (called once by the wiring)."""
    if integration not in _integrations:
        _integrations.append(integration)


def integrations_listen(session: Session, program_id: str, event_type: str) -> bool:
    return any(integration.listens(session, program_id, event_type) for integration in _integrations)


def record(session: Session, program_id: str, event_type: str, data: dict[str, Any]) -> str:
    """One outbox row (a fan-out job) for the event, in the caller's transaction; returns its webhook-id."""
    event = OutboxEvent(f"msg_{new_id()}", program_id, event_type, utc_now(), data)
    spec = JobSpec(FANOUT_JOB, event.payload(), program_id, event.created_at, FANOUT_JOB_ATTEMPTS)
    enqueue_many(session, [spec])
    return event.id


def write_events(session: Session, targets: Sequence[tuple[OutboxEvent, Sequence[str]]]) -> list[str]:
    """Each event with its endpoints: the event row, one pending delivery per endpoint and one deliver job
    per event (due at the event's time: jobs are claimed in that order). An event already stored (fanned
    out before) is skipped whole. Returns the delivery ids."""
    return _write_events(session, targets)[1]


def _write_events(session: Session, targets: Sequence[tuple[OutboxEvent, Sequence[str]]]) -> tuple[set[str], list[str]]:
    """write_events; returns (the ids of the events stored before, which got nothing, the delivery ids)."""
    targets = [(event, endpoint_ids) for event, endpoint_ids in targets if endpoint_ids]
    if not targets:
        return set(), []
    now = utc_now()
    fresh = repository.insert_new_events(
        session,
        [
            {
                "id": event.id,
                "program_id": event.program_id,
                "type": event.type,
                "body": event.body,
                "created_at": event.created_at,
            }
            for event, _ids in targets
        ],
    )
    deliveries: list[dict[str, Any]] = []
    jobs: list[JobSpec] = []
    for event, endpoint_ids in targets:
        if event.id not in fresh:
            continue
        rows = [
            {
                "id": new_id(),
                "program_id": event.program_id,
                "endpoint_id": endpoint_id,
                "event_id": event.id,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "attempt_token": new_id(),
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in endpoint_ids
        ]
        deliveries += rows
        pairs = [[row["id"], row["attempt_token"]] for row in rows]
        jobs.append(
            JobSpec(DELIVER_JOB, {"deliveries": pairs}, event.program_id, event.created_at, DELIVER_JOB_ATTEMPTS)
        )
    if deliveries:
        repository.insert_deliveries(session, deliveries)
    enqueue_many(session, jobs)
    stored_before = {event.id for event, _ids in targets} - fresh
    return stored_before, [str(row["id"]) for row in deliveries]


def fan_out(session: Session, events: Sequence[OutboxEvent]) -> None:
    """Deliveries for the active endpoints subscribed to each event (of its own program only, added before
    the event was recorded), then the integrations' share, in the caller's transaction. Idempotent for
    webhooks: an event fanned out before gets no second delivery (its row exists)."""
    ordered = sorted({event.id: event for event in events}.values(), key=lambda event: (event.created_at, event.id))
    endpoints = repository.receiving_endpoints_of(session, {event.program_id for event in ordered})
    targets = [
        (
            event,
            [
                endpoint_id
                for endpoint_id, kinds, created_at in endpoints.get(event.program_id, [])
                if receives_event(kinds, created_at, event.type, event.created_at)
            ],
        )
        for event in ordered
    ]
    stored_before, _delivery_ids = _write_events(session, targets)
    # An event stored already was fanned out before: the integrations had their share then.
    ordered = [event for event in ordered if event.id not in stored_before]
    for integration in _integrations:
        integration.receive(session, ordered)


def _prepare(_session: Session, payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return payloads


def _perform(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return payloads


def _finish(session: Session, _payloads: list[dict[str, Any]], payloads: list[dict[str, Any]]) -> None:
    fan_out(session, [OutboxEvent.from_payload(payload) for payload in payloads])


# Split only to take FANOUT_BATCH jobs at once (one transaction for all); nothing goes out on the network.
fanout = split_job_handler(
    FANOUT_JOB, SplitJobHandler(prepare=_prepare, perform=_perform, finish=_finish, batch=FANOUT_BATCH)
)
