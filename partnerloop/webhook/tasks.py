"""Delivering webhooks on job-queue workers.

One `webhook.deliver` job carries (delivery id, attempt token) pairs: all deliveries of one event at
first, then one job per retry. It runs split (jobs/queue.SplitJobHandler): read the deliveries in a
short transaction, sign and POST with no transaction open (a slow receiver holds no lock and never
slows tracking), then record the attempts and schedule the next ones in the transaction that marks the
job done. A worker killed mid-request leaves the job to be claimed again after its lease: the same
webhook-id is sent again (receivers deduplicate by it, as Standard Webhooks asks).
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import insert
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from partnerloop.config import Settings
from partnerloop.jobs.queue import JobSpec, SplitJobHandler, enqueue_many, job_handler, split_job_handler
from partnerloop.kit.ids import new_id
from partnerloop.kit.sealing import unseal
from partnerloop.kit.time import utc_now
from partnerloop.models import Program, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from partnerloop.notify.service import Action, notify
from partnerloop.webhook import repository
from partnerloop.webhook.rules import (
    AttemptVerdict,
    DeliveryStatus,
    EndpointChange,
    EndpointStatus,
    after_attempt,
    parse_retry_after,
    signing_secrets,
    verdict,
)
from partnerloop.webhook.sender import AttemptResult, send
from partnerloop.webhook.service import DELIVER_JOB, DELIVER_JOB_ATTEMPTS, webhook_settings

log = logging.getLogger("partnerloop.webhook")

SWEEP_JOB = "webhook.sweep"

MAX_PARALLEL_SENDS = 32  # a batch's requests (a fan-out, a backlog) go out side by side
BATCH = (
    96  # deliver jobs per batch: one claim, one read, one write; 3 rounds of sends (30 s of timeouts < the 60 s lease)
)


@dataclass(frozen=True)
class Prepared:
    delivery_id: str
    token: str
    url: str
    message_id: str
    body: str
    secrets: list[str]
    cancel_reason: str | None  # the endpoint cannot receive: cancel instead of sending


@dataclass(frozen=True)
class Sent:
    prepared: Prepared
    headers: dict[str, str]
    result: AttemptResult | None  # None: not sent (canceled)


def _prepare(session: Session, payloads: list[dict[str, Any]]) -> list[Prepared]:
    wanted = {str(pair[0]): str(pair[1]) for payload in payloads for pair in payload.get("deliveries", [])}
    settings = webhook_settings()
    now = utc_now()
    prepared: list[Prepared] = []
    keys_of: dict[str, list[str] | None] = {}  # per endpoint: a batch of one endpoint decrypts its secrets once
    for delivery, event, endpoint in repository.deliveries_for_sending(session, list(wanted)):
        if delivery.attempt_token != wanted[delivery.id] or delivery.status != DeliveryStatus.PENDING:
            continue  # replaced by a retry by hand, or finished already
        cancel = None
        keys: list[str] = []
        if not EndpointStatus(endpoint.status).receives:
            cancel = f"Not sent: the endpoint is {endpoint.status}."
        else:
            if endpoint.id not in keys_of:
                keys_of[endpoint.id] = _signing_keys(settings, endpoint, now)
            found = keys_of[endpoint.id]
            if found is None:
                cancel = "Not sent: the signing secret cannot be decrypted with ENCRYPTION_KEY."
            else:
                keys = found
        prepared.append(Prepared(delivery.id, delivery.attempt_token, endpoint.url, event.id, event.body, keys, cancel))
    return prepared


def _signing_keys(settings: Settings, endpoint: WebhookEndpoint, now: datetime) -> list[str] | None:
    """The endpoint's secrets that sign at `now`; None when they cannot be decrypted."""
    try:
        previous = unseal(settings, endpoint.previous_secret_encrypted) if endpoint.previous_secret_encrypted else None
        return signing_secrets(
            unseal(settings, endpoint.secret_encrypted), previous, endpoint.previous_secret_expires_at, now
        )
    except InvalidToken:
        return None


def _send_one(item: Prepared) -> Sent:
    if item.cancel_reason is not None:
        return Sent(item, {}, None)
    settings = webhook_settings()
    timestamp = utc_now()
    signature = " ".join(Webhook(key).sign(item.message_id, timestamp, item.body) for key in item.secrets)
    headers = {
        "webhook-id": item.message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
    result = send(
        item.url,
        headers,
        item.body.encode(),
        timeout=settings.webhook_timeout_s,
        allow_private=settings.allow_private_webhooks,
    )
    return Sent(item, headers, result)


_pool: ThreadPoolExecutor | None = None


def _perform(prepared: list[Prepared]) -> list[Sent]:
    global _pool
    if len(prepared) <= 1:
        return [_send_one(item) for item in prepared]
    if _pool is None:
        _pool = ThreadPoolExecutor(MAX_PARALLEL_SENDS, thread_name_prefix="webhook-send")
    return list(_pool.map(_send_one, prepared))


def _tell_admins(session: Session, endpoint: WebhookEndpoint) -> None:
    settings = webhook_settings()
    program = session.get(Program, endpoint.program_id)
    if program is None:
        return
    page = f"{settings.base_url.rstrip('/')}/manage/webhooks?program={program.id}"
    notify(
        session, program, "webhook_disabled", repository.admin_emails(session, endpoint.program_id),
        subject=f"[{program.name}] Webhook endpoint disabled: {endpoint.url}",
        lines=[f"Partnerloop stopped sending webhooks of {program.name} to {endpoint.url}.",
               f"Why: {endpoint.disabled_reason}",
               "Fix the receiver, then resume the endpoint (its failed deliveries can be retried there)."],
        action=Action("Open the webhook endpoints", page),
    )  # fmt: skip


def _disable(session: Session, endpoint: WebhookEndpoint, reason: str) -> None:
    if endpoint.status == EndpointStatus.DISABLED:
        return
    endpoint.status = EndpointStatus.DISABLED.value
    endpoint.disabled_reason = reason
    endpoint.updated_at = utc_now()
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
    _tell_admins(session, endpoint)


@dataclass
class _Writes:
    """What a batch's attempts add, written together at the end (one INSERT each, not one per attempt)."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    retries: list[JobSpec] = field(default_factory=list)
    healthy: set[str] = field(default_factory=set)  # endpoints (not locked) that had a success


def _outcome(result: AttemptResult) -> AttemptVerdict:
    outcome = verdict(result.status_code)
    if outcome is AttemptVerdict.SUCCEEDED and result.error:
        return AttemptVerdict.FAILED  # e.g. a 2xx whose answer never finished
    return outcome


def _record(
    session: Session,
    sent: Sent,
    deliveries: dict[str, WebhookDelivery],
    endpoints: dict[str, WebhookEndpoint],
    writes: _Writes,
) -> None:
    item = sent.prepared
    delivery = deliveries.get(item.delivery_id)
    if delivery is None:
        return  # the endpoint was deleted meanwhile
    now = utc_now()
    if sent.result is None:
        if delivery.attempt_token == item.token and delivery.status == DeliveryStatus.PENDING:
            delivery.status = DeliveryStatus.CANCELED.value
            delivery.last_error = item.cancel_reason
            delivery.next_attempt_at = None
        return
    result = sent.result
    delivery.attempts += 1
    writes.attempts.append(
        {
            "id": new_id(),
            "program_id": delivery.program_id,
            "delivery_id": delivery.id,
            "number": delivery.attempts,
            "attempted_at": now,
            "url": item.url,
            "request_headers": sent.headers,
            "status_code": result.status_code,
            "response_excerpt": result.response_excerpt,
            "duration_ms": result.duration_ms,
            "error": result.error,
        }
    )
    delivery.last_attempt_at = now
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    if delivery.attempt_token != item.token:
        return  # a retry by hand replaced this attempt's schedule: it decides what comes next
    # Deliveries go with their endpoint; it is unlocked (not read) only in a batch of successes.
    endpoint = endpoints.get(delivery.endpoint_id)
    decided = after_attempt(
        attempts_made=delivery.attempts,
        result=_outcome(result),
        now=now,
        jitter=random.random(),
        retry_after=parse_retry_after(result.retry_after, now),
        failing_since=endpoint.failing_since if endpoint is not None else None,
    )
    delivery.status = decided.delivery_status.value
    delivery.next_attempt_at = decided.next_attempt_at
    if decided.next_attempt_at is not None:
        delivery.attempt_token = new_id()
        writes.retries.append(
            JobSpec(
                DELIVER_JOB,
                {"deliveries": [[delivery.id, delivery.attempt_token]]},
                delivery.program_id,
                decided.next_attempt_at,
                DELIVER_JOB_ATTEMPTS,
            )
        )
    if endpoint is None:
        assert decided.endpoint is EndpointChange.HEALTHY  # a success: whatever failing_since was
        writes.healthy.add(delivery.endpoint_id)
    else:
        _change_endpoint(session, endpoint, decided.endpoint, result, now)


def _change_endpoint(
    session: Session, endpoint: WebhookEndpoint, change: EndpointChange, result: AttemptResult, now: datetime
) -> None:
    """The locked endpoint after an attempt: healthy, failing since now, or disabled."""
    if change is EndpointChange.HEALTHY:
        endpoint.failing_since = None
    elif change is EndpointChange.FAILING:
        endpoint.failing_since = now
    elif change is EndpointChange.DISABLE_GONE:
        _disable(session, endpoint, f"The receiver answered 410 Gone at {now.isoformat()}.")
    elif change is EndpointChange.DISABLE_FAILING:
        since = endpoint.failing_since.isoformat() if endpoint.failing_since else "?"
        _disable(
            session,
            endpoint,
            f"Every delivery failed since {since} (five days); the last: {result.error or result.status_code}.",
        )


def _finish(session: Session, _payloads: list[dict[str, Any]], sent: list[Sent]) -> None:
    # Locked in id order (deliveries, then endpoints): one lock order for all workers.
    deliveries = repository.lock_deliveries(session, [item.prepared.delivery_id for item in sent])
    endpoint_ids = {delivery.endpoint_id for delivery in deliveries.values()}
    # Only an answer other than a success may change an endpoint beyond its failing_since: lock them then.
    changing = any(item.result is not None and _outcome(item.result) is not AttemptVerdict.SUCCEEDED for item in sent)
    endpoints = repository.lock_endpoints(session, endpoint_ids) if changing else {}
    writes = _Writes()
    for item in sorted(sent, key=lambda one: one.prepared.delivery_id):
        _record(session, item, deliveries, endpoints, writes)
    repository.clear_failing(session, writes.healthy)
    if writes.attempts:
        session.execute(insert(WebhookAttempt), writes.attempts)
    enqueue_many(session, writes.retries)


@job_handler(SWEEP_JOB)
def sweep(session: Session, _payload: dict[str, Any]) -> None:
    """Delete finished events (no delivery pending) older than WEBHOOK_RETENTION_DAYS, with their
    deliveries and attempts, in batches; what is left of a long backlog goes at the next run."""
    before = utc_now() - timedelta(days=webhook_settings().webhook_retention_days)
    deleted = repository.delete_finished_events(session, before)
    if deleted:
        log.info("webhook sweep: %d events older than %s deleted", deleted, before.isoformat())


deliver = split_job_handler(
    DELIVER_JOB, SplitJobHandler(prepare=_prepare, perform=_perform, finish=_finish, batch=BATCH)
)

__all__ = ["deliver", "sweep"]
