"""Slack: a program's incoming-webhook URL (encrypted at rest, shown masked) and the events it posts.

Subscribes to the event outbox (webhook/outbox.py, wired in job_registry.py): in the fan-out's
transaction each chosen event becomes a `slack.post` job; the job posts it (integrations/slack/tasks.py)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from partnerloop.integrations.slack.rules import (
    CHOICES,
    check_webhook_url,
    event_types_of,
    mask,
    message,
    unknown_choices,
    wants,
)
from partnerloop.integrations.slack.schemas import SlackIn, SlackOut
from partnerloop.jobs.queue import JobSpec, enqueue_many
from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.sealing import seal
from partnerloop.models import Program, SlackConnection
from partnerloop.webhook.outbox import OutboxEvent
from partnerloop.webhook.service import webhook_settings

POST_JOB = "slack.post"


class InvalidSlackUrl(InvalidInput):
    pass


class UnknownSlackEvent(InvalidInput):
    pass


def get_connection(session: Session, program_id: str, *, lock: bool = False) -> SlackConnection | None:
    statement = select(SlackConnection).where(SlackConnection.program_id == program_id)
    return session.execute(statement.with_for_update() if lock else statement).scalar_one_or_none()


def slack_out(connection: SlackConnection | None) -> SlackOut:
    if connection is None:
        return SlackOut(connected=False, webhook_url=None, events=[], sale_min_amount=0, last_posted_at=None,
                        last_error=None)  # fmt: skip
    return SlackOut(
        connected=True,
        webhook_url=connection.webhook_url_hint,
        events=list(connection.events or []),
        sale_min_amount=connection.sale_min_amount,
        last_posted_at=connection.last_posted_at,
        last_error=connection.last_error,
    )


def connect(session: Session, program: Program, body: SlackIn) -> SlackConnection:
    """Store (or change) the program's Slack connection; a bad URL or event is a 422 and stores nothing."""
    unknown = unknown_choices(body.events)
    if unknown:
        raise UnknownSlackEvent(f"events: unknown {', '.join(unknown)}; one of {', '.join(CHOICES)}.")
    connection = get_connection(session, program.id, lock=True)
    url = (body.webhook_url or "").strip()
    if not url and connection is None:
        raise InvalidSlackUrl("webhook_url: required to connect Slack.")
    if url:
        problem = check_webhook_url(url, allow_private=webhook_settings().allow_private_integrations)
        if problem is not None:
            raise InvalidSlackUrl(f"webhook_url: {problem}")
    if connection is None:
        connection = SlackConnection(program_id=program.id)
        session.add(connection)
    if url:
        connection.webhook_url_encrypted = seal(webhook_settings(), url)
        connection.webhook_url_hint = mask(url)
        connection.last_error = None
    connection.events = list(dict.fromkeys(body.events))
    connection.sale_min_amount = body.sale_min_amount
    session.flush()
    session.info.pop("slack_event_types", None)
    return connection


def disconnect(session: Session, program: Program) -> None:
    connection = get_connection(session, program.id, lock=True)
    if connection is not None:
        session.delete(connection)
        session.flush()


class SlackSubscriber:
    """The outbox subscriber: chosen events of connected programs become `slack.post` jobs."""

    def listens(self, session: Session, program_id: str, event_type: str) -> bool:
        cache: dict[str, set[str]] = session.info.setdefault("slack_event_types", {})  # once per transaction
        if program_id not in cache:
            connection = get_connection(session, program_id)
            cache[program_id] = event_types_of(list(connection.events or [])) if connection is not None else set()
        return event_type in cache[program_id]

    def receive(self, session: Session, events: Sequence[OutboxEvent]) -> None:
        program_ids = sorted({event.program_id for event in events})
        connections = {
            row.program_id: row
            for row in session.execute(
                select(SlackConnection).where(SlackConnection.program_id.in_(program_ids))
            ).scalars()
        }
        if not connections:
            return
        programs = {
            row.id: row for row in session.execute(select(Program).where(Program.id.in_(list(connections)))).scalars()
        }
        base_url = webhook_settings().base_url
        jobs = []
        for event in events:
            connection, program = connections.get(event.program_id), programs.get(event.program_id)
            if connection is None or program is None:
                continue
            if not wants(list(connection.events or []), connection.sale_min_amount, program.currency, event.type,
                         event.data):  # fmt: skip
                continue
            posted = message(program.name, event.type, event.data, base_url)
            payload = {"program_id": event.program_id, "event_id": event.id, "text": posted.text,
                       "blocks": posted.blocks, "tries": 0}  # fmt: skip
            jobs.append(JobSpec(POST_JOB, payload, event.program_id, event.created_at))
        enqueue_many(session, jobs)


subscriber = SlackSubscriber()
