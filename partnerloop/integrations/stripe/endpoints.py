"""POST /integrations/stripe/webhook/{program_id} (signed by Stripe), and the manager's view of events.

The webhook answers as soon as the event is verified and stored with its job: processing never
delays the answer. Verification runs before any write transaction (on SQLite, before the write lock).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.deps import Api
from partnerloop.integrations.stripe import repository, service
from partnerloop.integrations.stripe.rules import EventStatus
from partnerloop.integrations.stripe.schemas import StripeEventList, StripeEventOut, WebhookAnswer
from partnerloop.kit.errors import AppError, InvalidInput
from partnerloop.models import Program, StripeEvent

log = logging.getLogger("partnerloop.stripe")

webhook_router = APIRouter(tags=["stripe"])
router = APIRouter(prefix="/api/v1/integrations/stripe", tags=["stripe"])

MAX_BODY_BYTES = 1_000_000


def _ingest(engine: Engine, program_id: str, payload: bytes, signature: str | None) -> None:
    with transaction(engine, writes=False) as session:
        program = session.get(Program, program_id)
    if program is None:
        raise service.StripeProgramNotFound(f"No program {program_id}.")
    envelope, data = service.verify(program, payload, signature)
    with transaction(engine) as session:
        service.store(session, program, envelope, data)


@webhook_router.post("/integrations/stripe/webhook/{program_id}", summary="Receive a Stripe webhook event")
async def stripe_webhook(program_id: str, request: Request) -> WebhookAnswer:
    """Verify, store once, enqueue processing, answer 200 `{"received": true}`."""
    payload = await request.body()
    try:
        if len(payload) > MAX_BODY_BYTES:
            raise service.MalformedEvent("The body is larger than 1 MB.")
        await run_in_threadpool(
            _ingest, request.app.state.engine, program_id[:64], payload, request.headers.get("stripe-signature")
        )
    except AppError as error:
        log.warning("stripe webhook for program %s refused: %s: %s", program_id[:64], error.name, error.message)
        raise
    return WebhookAnswer(received=True)


def event_out(row: StripeEvent, *, with_payload: bool = False) -> StripeEventOut:
    return StripeEventOut(
        id=row.id,
        event_id=row.event_id,
        type=row.type,
        livemode=row.livemode,
        status=row.status,
        error=row.error,
        waiting_for=row.waiting_for,
        created=row.created,
        received_at=row.received_at,
        processed_at=row.processed_at,
        payload=row.payload if with_payload else None,
    )


@router.get("/events", summary="List received Stripe events")
def list_events(
    api: Api,
    status: str | None = None,
    type: str | None = None,
    cursor: str | None = None,
    limit: int = Query(default=50, ge=1, le=100),
) -> StripeEventList:
    if status is not None and status not in EventStatus.__members__.values():
        raise InvalidInput(f"status must be one of {', '.join(EventStatus)}.")
    rows, next_cursor = repository.list_events(
        api.session, api.program.id, status=status, type_=type, cursor=cursor, limit=limit
    )
    return StripeEventList(data=[event_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/events/{event_id}", summary="Get a received Stripe event")
def get_event(event_id: str, api: Api) -> StripeEventOut:
    row = repository.get_event(api.session, api.program.id, event_id)
    if row is None:
        raise service.StripeEventNotFound(f"No Stripe event {event_id} in this program.")
    return event_out(row, with_payload=True)


@router.post("/events/{event_id}/replay", summary="Replay a Stripe event", status_code=202)
def replay_event(event_id: str, api: Api) -> StripeEventOut:
    """Queue the stored event for processing again; answers it, status `received`."""
    return event_out(service.replay(api.session, api.program, event_id))
