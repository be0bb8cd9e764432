"""`hubspot.sync`: one program's partners, referred customers and sales upserted into HubSpot.

Split (jobs/queue.SplitJobHandler): the token is decrypted and the rows read in a short transaction, the
batch requests go out with none open, and the outcome is written after. HubSpot's rate limit (429, with
Retry-After honoured), a 5xx or no answer is tried again later as a new job due then (upserts repeat
harmlessly); another 4xx (a revoked token, a missing property) is recorded and dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy.orm import Session

from partnerloop.integrations.hubspot import records
from partnerloop.integrations.hubspot.client import Crm
from partnerloop.integrations.hubspot.rules import ID_PROPERTY, api_base
from partnerloop.integrations.hubspot.service import SYNC_JOB, get_connection
from partnerloop.integrations.sends import Outcome, finish_sends
from partnerloop.jobs.queue import SplitJobHandler, split_job_handler
from partnerloop.kit.sealing import unseal
from partnerloop.models import HubSpotConnection, Program
from partnerloop.webhook.service import webhook_settings


@dataclass(frozen=True)
class Sync:
    program_id: str
    payload: dict[str, Any]
    host: str
    token: str | None
    problem: str | None = None  # not sent, why
    partners: list[dict[str, Any]] = field(default_factory=list)
    customers: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)
    deals: list[tuple[dict[str, Any], str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Synced:
    sync: Sync
    status_code: int | None
    retry_after: str | None
    error: str | None


def _prepare_one(session: Session, payload: dict[str, Any]) -> Sync | None:
    settings = webhook_settings()
    program_id = str(payload["program_id"])
    connection, program = get_connection(session, program_id), session.get(Program, program_id)
    if connection is None or program is None:
        return None  # disconnected meanwhile: nothing to sync
    host = api_base(settings.hubspot_api_base, allow_private=settings.allow_private_integrations)
    try:
        token = unseal(settings, connection.token_encrypted)
    except InvalidToken:
        return Sync(program_id, payload, host, None, "the token cannot be decrypted with ENCRYPTION_KEY")
    return Sync(
        program_id, payload, host, token,
        partners=records.partner_rows(session, program, list(payload.get("partner_ids") or [])),
        customers=records.customer_rows(session, program, list(payload.get("customer_ids") or [])),
        deals=records.deal_rows(program, list(payload.get("sales") or [])),
    )  # fmt: skip


def _prepare(session: Session, payloads: list[dict[str, Any]]) -> list[Sync]:
    return [sync for sync in (_prepare_one(session, payload) for payload in payloads) if sync is not None]


def _push(sync: Sync, crm: Crm) -> None:
    """Partners by email, customers and deals by partnerloop_id, then the associations between them."""
    partner_emails = {str(email).lower() for _c, email in sync.customers if email}
    partner_ids = crm.upsert_contacts("email", sync.partners)
    known = {record["email"].lower() for record in sync.partners}
    missing = [{"email": email} for email in sorted(partner_emails - known)]  # partners of customers, by email only
    partner_ids.update(crm.upsert_contacts("email", missing) if missing else {})
    customer_ids = crm.upsert_contacts(ID_PROPERTY, [record for record, _email in sync.customers])
    deal_ids = crm.upsert_deals([record for record, _customer in sync.deals])
    crm.associate("contacts", "contacts", [
        (customer_ids[record[ID_PROPERTY]], partner_ids[email.lower()]) for record, email in sync.customers
        if email and record[ID_PROPERTY] in customer_ids and email.lower() in partner_ids
    ])  # fmt: skip
    crm.associate("deals", "contacts", [
        (deal_ids[record[ID_PROPERTY]], customer_ids[customer]) for record, customer in sync.deals
        if customer and record[ID_PROPERTY] in deal_ids and customer in customer_ids
    ])  # fmt: skip


def _send(sync: Sync) -> Synced:
    if sync.token is None:
        return Synced(sync, None, None, sync.problem)
    try:
        _push(sync, Crm(sync.host, sync.token))
    except Exception as failure:  # the client raises ApiException (status, headers) or a network error
        status = getattr(failure, "status", None)
        headers = getattr(failure, "headers", None) or {}
        retry_after = headers.get("Retry-After") if hasattr(headers, "get") else None
        if isinstance(status, int):
            body = str(getattr(failure, "body", "") or "")[:200]
            return Synced(sync, status, retry_after, f"HubSpot answered {status}: {body}")
        return Synced(sync, None, None, f"{type(failure).__name__}: {failure}")
    return Synced(sync, 200, None, None)


def _perform(syncs: list[Sync]) -> list[Synced]:
    return [_send(sync) for sync in syncs]


def _synced(connection: HubSpotConnection, now: datetime) -> None:
    connection.last_synced_at = now


def _finish(session: Session, _payloads: list[dict[str, Any]], outcomes: list[Synced]) -> None:
    finish_sends(
        session,
        [Outcome(o.sync.program_id, o.sync.payload, o.sync.token is not None, o.status_code, o.retry_after, o.error)
         for o in outcomes],
        job_kind=SYNC_JOB,
        connection=lambda session, program_id: get_connection(session, program_id, lock=True),
        succeeded=_synced,
    )  # fmt: skip


sync = split_job_handler(SYNC_JOB, SplitJobHandler(prepare=_prepare, perform=_perform, finish=_finish, batch=10))
