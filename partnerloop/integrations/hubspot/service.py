"""HubSpot CRM: a program's private-app token (encrypted at rest, shown masked).

Subscribes to the event outbox (webhook/outbox.py, wired in job_registry.py): in the fan-out's transaction
the partner, sale and commission events of a connected program become ONE `hubspot.sync` job per program
and fan-out (the partners, customers and sales to upsert); the job talks to HubSpot (integrations/hubspot/tasks.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.integrations.hubspot.rules import check_token, mask, syncs
from partnerloop.integrations.hubspot.schemas import HubSpotIn, HubSpotOut
from partnerloop.jobs.queue import JobSpec, enqueue_many
from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.sealing import seal
from partnerloop.models import HubSpotConnection, Program
from partnerloop.webhook.outbox import OutboxEvent
from partnerloop.webhook.service import webhook_settings

SYNC_JOB = "hubspot.sync"
SALE_FIELDS = ("id", "invoice_id", "customer_id", "amount", "currency", "product_id", "occurred_at")


class InvalidHubSpotToken(InvalidInput):
    pass


def get_connection(session: Session, program_id: str, *, lock: bool = False) -> HubSpotConnection | None:
    statement = select(HubSpotConnection).where(HubSpotConnection.program_id == program_id)
    return session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()


def hubspot_out(connection: HubSpotConnection | None) -> HubSpotOut:
    if connection is None:
        return HubSpotOut(connected=False, access_token=None, last_synced_at=None, last_error=None)
    return HubSpotOut(
        connected=True,
        access_token=connection.token_hint,
        last_synced_at=connection.last_synced_at,
        last_error=connection.last_error,
    )


def connect(session: Session, program: Program, body: HubSpotIn) -> HubSpotConnection:
    """Store (or change) the program's HubSpot token; a bad token is a 422 and stores nothing."""
    connection = get_connection(session, program.id, lock=True)
    token = (body.access_token or "").strip()
    if not token and connection is None:
        raise InvalidHubSpotToken("access_token: required to connect HubSpot.")
    if token:
        problem = check_token(token)
        if problem is not None:
            raise InvalidHubSpotToken(f"access_token: {problem}")
    if connection is None:
        connection = HubSpotConnection(program_id=program.id)
        session.add(connection)
    if token:
        connection.token_encrypted = seal(webhook_settings(), token)
        connection.token_hint = mask(token)
        connection.last_error = None
    session.flush()
    session.info.pop("hubspot_programs", None)
    return connection


def disconnect(session: Session, program: Program) -> None:
    connection = get_connection(session, program.id, lock=True)
    if connection is not None:
        session.delete(connection)
        session.flush()
    session.info.pop("hubspot_programs", None)


def sync_payload(program_id: str, events: Sequence[OutboxEvent]) -> dict[str, Any]:
    """What one program's events of a fan-out ask to upsert: partners (by id), customers and sales."""
    partners: list[str] = []
    customers: list[str] = []
    sales: list[dict[str, Any]] = []
    for event in events:
        data = event.data
        if event.type.startswith("partner."):
            partners.append(str(data["id"]))
        elif event.type == "sale.created":
            sales.append({key: data.get(key) for key in SALE_FIELDS})
        else:  # commission.*: the partner's revenue and earnings moved
            partners.append(str(data.get("partner_id") or ""))
        if data.get("customer_id"):
            customers.append(str(data["customer_id"]))
    return {
        "program_id": program_id,
        "partner_ids": sorted({partner for partner in partners if partner}),
        "customer_ids": sorted(set(customers)),
        "sales": list({str(sale["id"]): sale for sale in sales}.values()),
        "tries": 0,
    }


class HubSpotSubscriber:
    """The outbox subscriber: a connected program's partner, sale and commission events become one sync job."""

    def _connected(self, session: Session, program_id: str) -> bool:
        cache: dict[str, bool] = session.info.setdefault("hubspot_programs", {})  # once per transaction
        if program_id not in cache:
            cache[program_id] = get_connection(session, program_id) is not None
        return cache[program_id]

    def listens(self, session: Session, program_id: str, event_type: str) -> bool:
        return syncs(event_type) and self._connected(session, program_id)

    def receive(self, session: Session, events: Sequence[OutboxEvent]) -> None:
        by_program: dict[str, list[OutboxEvent]] = {}
        for event in events:
            if syncs(event.type) and self._connected(session, event.program_id):
                by_program.setdefault(event.program_id, []).append(event)
        jobs = [
            JobSpec(SYNC_JOB, sync_payload(program_id, program_events), program_id, program_events[-1].created_at)
            for program_id, program_events in by_program.items()
        ]
        enqueue_many(session, jobs)


subscriber = HubSpotSubscriber()
