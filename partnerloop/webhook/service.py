"""Outbound webhooks: endpoints (the merchant's URLs and their secrets) and `emit`, the one way an event
leaves Partnerloop. `emit` writes the event into the outbox in the caller's transaction (a rolled-back
change sends nothing, a committed one cannot lose its event); a worker fans it out to endpoints and
integrations (webhook/outbox.py) and job-queue workers deliver it (webhook/tasks.py)."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from sqlalchemy.orm import Session

from partnerloop.config import Settings, get_settings
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import Conflict, InvalidInput, NotFound
from partnerloop.kit.ids import new_id
from partnerloop.kit.sealing import seal
from partnerloop.kit.time import utc_now
from partnerloop.models import Program, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from partnerloop.webhook import outbox, repository
from partnerloop.webhook.catalogue import BY_TYPE, SUBSCRIBABLE, TEST_EVENT
from partnerloop.webhook.rules import (
    PREVIOUS_SECRET_GRACE,
    WILDCARD,
    DeliveryStatus,
    EndpointStatus,
    subscribes,
    unknown_event_types,
)
from partnerloop.webhook.schemas import (
    AttemptOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
)
from partnerloop.webhook.sender import check_url

DELIVER_JOB = outbox.DELIVER_JOB
DELIVER_JOB_ATTEMPTS = outbox.DELIVER_JOB_ATTEMPTS
FANOUT_JOB = outbox.FANOUT_JOB
SECRET_BYTES = 32


class WebhookEndpointNotFound(NotFound):
    pass


class WebhookDeliveryNotFound(NotFound):
    pass


class InvalidWebhookUrl(InvalidInput):
    pass


class UnknownEventType(InvalidInput):
    pass


class EndpointNotActive(Conflict):
    pass


class DeliveryInProgress(Conflict):
    pass


_configured: Settings | None = None


def configure_webhooks(settings: Settings | None) -> None:
    """Use these settings (ALLOW_PRIVATE_WEBHOOKS, keys, timeouts); None: read the environment."""
    global _configured
    _configured = settings


def webhook_settings() -> Settings:
    return _configured or get_settings()


# ---------------------------------------------------------------- secrets


def new_signing_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (Standard Webhooks' format)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# ---------------------------------------------------------------- emit


def _endpoints_of(session: Session, program_id: str) -> list[tuple[str, list[str]]]:
    """The program's active endpoints, read once per transaction (a sale emits several events)."""
    cache: dict[str, list[tuple[str, list[str]]]] = session.info.setdefault("webhook_endpoints", {})
    if program_id not in cache:
        cache[program_id] = repository.receiving_endpoints(session, program_id)
    return cache[program_id]


def _forget_endpoints(session: Session) -> None:
    session.info.pop("webhook_endpoints", None)


def _write_event(
    session: Session, program_id: str, event_type: str, data: dict[str, Any], endpoint_ids: list[str]
) -> list[str]:
    """The event, one pending delivery per endpoint and one job sending them, now (no fan-out: a test
    event to one endpoint); returns the delivery ids."""
    event = outbox.OutboxEvent(f"msg_{new_id()}", program_id, event_type, utc_now(), data)
    return outbox.write_events(session, [(event, endpoint_ids)])


def listens(session: Session, program_id: str, event_type: str) -> bool:
    """Whether an active endpoint of the program, or a connected integration, takes `event_type` (read
    once per transaction): callers with a costly payload (a click batch's commissions) build it only then."""
    if any(subscribes(events, event_type) for _endpoint_id, events in _endpoints_of(session, program_id)):
        return True
    return outbox.integrations_listen(session, program_id, event_type)


def emit(session: Session, program_id: str, event_type: str, data: dict[str, Any]) -> None:
    """Record `event_type` with `data` (JSON-ready: a resource's `model_dump(mode="json")`) in the outbox,
    in the caller's transaction: one row, whoever listens. A worker matches the program's endpoints and
    integrations and writes their deliveries (webhook/outbox.py); the webhook-id is fixed here."""
    outbox.record(session, program_id, event_type, data)


# ---------------------------------------------------------------- endpoints


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events or []),
        description=endpoint.description,
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        failing_since=endpoint.failing_since,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def with_secret(endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
    return EndpointWithSecret(**endpoint_out(endpoint).model_dump(), secret=secret)


def _checked_url(url: str) -> str:
    problem = check_url(url, allow_private=webhook_settings().allow_private_webhooks)
    if problem is not None:
        raise InvalidWebhookUrl(f"url: {problem}")
    return url


def _checked_events(events: list[str]) -> list[str]:
    unknown = unknown_event_types(events, SUBSCRIBABLE)
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise UnknownEventType(f"events: unknown event type {names}; GET /api/v1/webhook-event-types lists them.")
    if WILDCARD in events:
        return [WILDCARD]  # every event: naming some besides adds nothing
    return list(dict.fromkeys(events))


def create_endpoint(session: Session, program: Program, body: EndpointIn) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint; returns it with its secret (shown this once)."""
    events = _checked_events(body.events)
    url = _checked_url(body.url)
    secret = new_signing_secret()
    endpoint = WebhookEndpoint(
        program_id=program.id,
        url=url,
        description=body.description or None,
        events=events,
        status=EndpointStatus.ACTIVE.value,
        secret_encrypted=seal(webhook_settings(), secret),
    )
    session.add(endpoint)
    session.flush()
    _forget_endpoints(session)
    return endpoint, secret


def get_endpoint(session: Session, program: Program, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = repository.get_endpoint(session, program.id, endpoint_id, lock=lock)
    if endpoint is None:
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id} in this program.")
    return endpoint


def list_endpoints(
    session: Session, program: Program, *, cursor: str | None, limit: int
) -> tuple[list[WebhookEndpoint], str | None]:
    return repository.list_endpoints(session, program.id, cursor=cursor, limit=limit)


def update_endpoint(session: Session, program: Program, endpoint_id: str, patch: EndpointPatch) -> WebhookEndpoint:
    """Change url, events, description, or pause / resume (resuming a disabled endpoint clears its failures)."""
    endpoint = get_endpoint(session, program, endpoint_id, lock=True)
    changes = patch.model_dump(exclude_unset=True)
    for field in ("url", "events", "status"):
        if field in changes and changes[field] is None:
            raise InvalidInput(f"{field}: may not be null.")
    events = _checked_events(changes["events"]) if "events" in changes else None
    url = _checked_url(changes["url"]) if "url" in changes else None
    if url is not None:
        endpoint.url = url
    if events is not None:
        endpoint.events = events
    if "description" in changes:
        endpoint.description = changes["description"] or None
    if "status" in changes:
        endpoint.status = changes["status"]
        if changes["status"] == EndpointStatus.ACTIVE:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
    endpoint.updated_at = utc_now()
    session.flush()
    _forget_endpoints(session)
    return endpoint


def delete_endpoint(session: Session, program: Program, endpoint_id: str) -> None:
    """The endpoint and its delivery history go; jobs still queued for it find nothing and do nothing."""
    endpoint = get_endpoint(session, program, endpoint_id, lock=True)
    session.delete(endpoint)
    session.flush()
    _forget_endpoints(session)


def rotate_secret(session: Session, program: Program, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned, shown once); the old one keeps signing beside it for 24 hours."""
    endpoint = get_endpoint(session, program, endpoint_id, lock=True)
    secret = new_signing_secret()
    now = utc_now()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_GRACE
    endpoint.secret_encrypted = seal(webhook_settings(), secret)
    endpoint.updated_at = now
    session.flush()
    return endpoint, secret


def send_test(session: Session, program: Program, endpoint_id: str, event_type: str | None) -> WebhookDelivery:
    """Send this endpoint alone a test event (or the catalogue's example of `event_type`)."""
    endpoint = get_endpoint(session, program, endpoint_id)
    if not EndpointStatus(endpoint.status).receives:
        raise EndpointNotActive(f"Webhook endpoint {endpoint_id} is {endpoint.status}: resume it first.")
    kind = event_type or TEST_EVENT
    known = BY_TYPE.get(kind)
    if known is None:
        raise UnknownEventType(f"event_type: unknown event type '{kind}'; GET /api/v1/webhook-event-types lists them.")
    data = (
        {"message": "A test event from Partnerloop.", "endpoint_id": endpoint.id}
        if kind == TEST_EVENT
        else {**known.example, "test": True}
    )
    (delivery_id,) = _write_event(session, program.id, kind, data, [endpoint.id])
    delivery = session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    return delivery


# ---------------------------------------------------------------- deliveries


def delivery_out(delivery: WebhookDelivery, event: WebhookEvent, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=event.id,
        event_type=event.type,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        request_body=json.loads(event.body),
        attempt_log=[
            AttemptOut(
                number=attempt.number,
                attempted_at=attempt.attempted_at,
                url=attempt.url,
                request_headers=attempt.request_headers,
                status_code=attempt.status_code,
                response_excerpt=attempt.response_excerpt,
                duration_ms=attempt.duration_ms,
                error=attempt.error,
            )
            for attempt in attempts
        ],
    )


def list_deliveries(
    session: Session, program: Program, endpoint_id: str, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[DeliveryOut], str | None]:
    get_endpoint(session, program, endpoint_id)
    if status is not None and status not in {value.value for value in DeliveryStatus}:
        raise InvalidInput(f"status: one of {', '.join(value.value for value in DeliveryStatus)}.")
    rows, next_cursor = repository.list_deliveries(
        session, program.id, endpoint_id, status=status, cursor=cursor, limit=limit
    )
    attempts = repository.attempts_of(session, [delivery.id for delivery, _event in rows])
    return [delivery_out(delivery, event, attempts[delivery.id]) for delivery, event in rows], next_cursor


def get_delivery_out(session: Session, program: Program, endpoint_id: str, delivery_id: str) -> DeliveryOut:
    delivery = repository.get_delivery(session, program.id, endpoint_id, delivery_id)
    if delivery is None:
        raise WebhookDeliveryNotFound(f"No delivery {delivery_id} of webhook endpoint {endpoint_id}.")
    event = session.get(WebhookEvent, delivery.event_id)
    assert event is not None
    return delivery_out(delivery, event, repository.attempts_of(session, [delivery.id])[delivery.id])


def retry_delivery(session: Session, program: Program, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    """One more attempt now (the same webhook-id); a pending delivery's scheduled attempt is replaced."""
    endpoint = get_endpoint(session, program, endpoint_id)
    if not EndpointStatus(endpoint.status).receives:
        raise EndpointNotActive(f"Webhook endpoint {endpoint_id} is {endpoint.status}: resume it first.")
    delivery = repository.get_delivery(session, program.id, endpoint_id, delivery_id, lock=True)
    if delivery is None:
        raise WebhookDeliveryNotFound(f"No delivery {delivery_id} of webhook endpoint {endpoint_id}.")
    now = utc_now()
    delivery.status = DeliveryStatus.PENDING.value
    delivery.attempt_token = new_id()
    delivery.next_attempt_at = now
    session.flush()
    enqueue(
        session,
        DELIVER_JOB,
        {"deliveries": [[delivery.id, delivery.attempt_token]]},
        program_id=program.id,
        run_at=now,
        max_attempts=DELIVER_JOB_ATTEMPTS,
    )
    return delivery
