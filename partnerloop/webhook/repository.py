"""All SQL of outbound webhooks, scoped by program."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from partnerloop.kit.pagination import page_of, paginate
from partnerloop.kit.time import as_utc
from partnerloop.models import Member, Program, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from partnerloop.webhook.rules import DeliveryStatus, EndpointStatus


def receiving_endpoints(session: Session, program_id: str) -> list[tuple[str, list[str]]]:
    """(id, events) of the program's active endpoints."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(
            WebhookEndpoint.program_id == program_id, WebhookEndpoint.status == EndpointStatus.ACTIVE.value
        )
    ).all()
    return [(row[0], list(row[1] or [])) for row in rows]


def receiving_endpoints_of(
    session: Session, program_ids: Iterable[str]
) -> dict[str, list[tuple[str, list[str], datetime]]]:
    """(id, events, created_at) of the active endpoints of each program, in id order."""
    wanted = sorted(set(program_ids))
    found: dict[str, list[tuple[str, list[str], datetime]]] = {program_id: [] for program_id in wanted}
    if not wanted:
        return found
    rows = session.execute(
        select(WebhookEndpoint.program_id, WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.created_at)
        .where(WebhookEndpoint.program_id.in_(wanted), WebhookEndpoint.status == EndpointStatus.ACTIVE.value)
        .order_by(WebhookEndpoint.id)
    ).all()
    for program_id, endpoint_id, events, created_at in rows:
        found[program_id].append((endpoint_id, list(events or []), as_utc(created_at)))
    return found


def insert_new_events(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the events whose id (the webhook-id) is not stored yet; returns the ids inserted by this call.

    The fan-out's idempotency: a second fan-out of the same event inserts nothing and so writes no delivery."""
    if not rows:
        return set()
    insert_of = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert_of(WebhookEvent)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(WebhookEvent.id)
    )
    return set(session.execute(statement).scalars())


def insert_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    session.execute(insert(WebhookDelivery), list(rows))


def get_endpoint(session: Session, program_id: str, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint | None:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.program_id == program_id
    )
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def list_endpoints(
    session: Session, program_id: str, *, cursor: str | None, limit: int
) -> tuple[list[WebhookEndpoint], str | None]:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.program_id == program_id)
    rows = list(session.execute(paginate(statement, WebhookEndpoint.id, cursor, limit)).scalars())
    return page_of(rows, limit, lambda row: row.id)


def get_delivery(
    session: Session, program_id: str, endpoint_id: str, delivery_id: str, *, lock: bool = False
) -> WebhookDelivery | None:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.program_id == program_id,
    )
    if lock:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


def list_deliveries(
    session: Session, program_id: str, endpoint_id: str, *, status: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[WebhookDelivery, WebhookEvent]], str | None]:
    statement = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.program_id == program_id, WebhookDelivery.endpoint_id == endpoint_id)
    )
    if status:
        statement = statement.where(WebhookDelivery.status == status)
    rows = [(row[0], row[1]) for row in session.execute(paginate(statement, WebhookDelivery.id, cursor, limit)).all()]
    return page_of(rows, limit, lambda row: row[0].id)


def attempts_of(session: Session, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = session.execute(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
    ).scalars()
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


def deliveries_for_sending(
    session: Session, delivery_ids: Sequence[str]
) -> list[tuple[WebhookDelivery, WebhookEvent, WebhookEndpoint]]:
    rows = session.execute(
        select(WebhookDelivery, WebhookEvent, WebhookEndpoint)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(list(delivery_ids)))
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def lock_deliveries(session: Session, delivery_ids: Sequence[str]) -> dict[str, WebhookDelivery]:
    if not delivery_ids:
        return {}
    rows = session.execute(
        select(WebhookDelivery)
        .where(WebhookDelivery.id.in_(sorted(set(delivery_ids))))
        .order_by(WebhookDelivery.id)
        .with_for_update()
    ).scalars()
    return {row.id: row for row in rows}


def lock_endpoints(session: Session, endpoint_ids: Iterable[str]) -> dict[str, WebhookEndpoint]:
    wanted = sorted(set(endpoint_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(WebhookEndpoint).where(WebhookEndpoint.id.in_(wanted)).order_by(WebhookEndpoint.id).with_for_update()
    ).scalars()
    return {row.id: row for row in rows}


def clear_failing(session: Session, endpoint_ids: Iterable[str]) -> None:
    """failing_since = NULL on those endpoints that have it set (locked in id order first; none usually are)."""
    wanted = sorted(set(endpoint_ids))
    if not wanted:
        return
    failing = list(
        session.execute(
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.id.in_(wanted), WebhookEndpoint.failing_since.is_not(None))
            .order_by(WebhookEndpoint.id)
            .with_for_update()
        ).scalars()
    )
    if failing:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(failing))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )


def admin_emails(session: Session, program_id: str) -> list[str]:
    """Emails of the program's workspace owners and admins."""
    rows = session.execute(
        select(User.email)
        .join(Member, Member.user_id == User.id)
        .join(Program, Program.workspace_id == Member.workspace_id)
        .where(Program.id == program_id, Member.role.in_(["owner", "admin"]))
        .order_by(User.email)
    ).scalars()
    return list(dict.fromkeys(rows))


def program_name(session: Session, program_id: str) -> str:
    return str(session.execute(select(Program.name).where(Program.id == program_id)).scalar_one_or_none() or "")


def delete_finished_events(session: Session, before: datetime, *, limit: int = 5000) -> int:
    """Delete up to `limit` events recorded before `before` none of whose deliveries is still pending, with
    their deliveries and attempts; returns how many events went."""
    pending = exists().where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status == DeliveryStatus.PENDING.value
    )
    event_ids = list(
        session.execute(
            select(WebhookEvent.id)
            .where(WebhookEvent.created_at < before, ~pending)
            .order_by(WebhookEvent.id)
            .limit(limit)
        ).scalars()
    )
    if not event_ids:
        return 0
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(event_ids))
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(event_ids)))
    session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(event_ids)))
    return len(event_ids)
