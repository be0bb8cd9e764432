"""The daily sweep deletes finished events older than WEBHOOK_RETENTION_DAYS with their deliveries and
attempts; recent events and any event with a delivery still pending stay."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from partnerloop.db import transaction
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.time import utc_now
from partnerloop.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from partnerloop.webhook.service import configure_webhooks, emit
from partnerloop.webhook.tasks import SWEEP_JOB
from tests.conftest import ProgramKeys, make_settings
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Answer, Receiver


def _counts(engine: Engine) -> tuple[int, int, int]:
    with transaction(engine, writes=False) as session:
        return tuple(  # type: ignore[return-value]
            int(session.execute(select(func.count()).select_from(model)).scalar_one())
            for model in (WebhookEvent, WebhookDelivery, WebhookAttempt)
        )


def test_sweep_deletes_only_old_finished_events(
    api: TestClient, program: ProgramKeys, engine: Engine, database_url: str, receiver: Receiver
) -> None:
    created = api.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url(), "events": ["*"]}, headers=program.headers
    )
    assert created.status_code == 201, created.text
    receiver.answers = [Answer(), Answer(), Answer(status=500)]  # two delivered, the third retried later
    with transaction(engine) as session:
        for index in range(3):
            emit(session, program.id, "sale.created", {"id": f"sale_{index}"})
    run_jobs(engine)
    with transaction(engine, writes=False) as session:
        ids = list(session.execute(select(WebhookEvent.id).order_by(WebhookEvent.id)).scalars())
        pending = session.execute(select(WebhookDelivery.event_id).where(WebhookDelivery.status == "pending")).scalars()
        pending_ids = set(pending)
    assert len(ids) == 3 and len(pending_ids) == 1
    old_done, recent_done = [event_id for event_id in ids if event_id not in pending_ids]
    with transaction(engine) as session:  # all but one finished event are 40 days old
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_([old_done, *pending_ids]))
            .values(created_at=utc_now() - timedelta(days=40))
        )
    assert _counts(engine) == (3, 3, 3)

    configure_webhooks(make_settings(database_url, allow_private_webhooks=True, webhook_retention_days=30))
    with transaction(engine) as session:
        enqueue(session, SWEEP_JOB)
    run_jobs(engine)
    with transaction(engine, writes=False) as session:
        left = set(session.execute(select(WebhookEvent.id)).scalars())
    assert left == {recent_done, *pending_ids}
    assert _counts(engine) == (2, 2, 2)

    configure_webhooks(make_settings(database_url, allow_private_webhooks=True, webhook_retention_days=0))
    with transaction(engine) as session:
        enqueue(session, SWEEP_JOB)
    run_jobs(engine)
    with transaction(engine, writes=False) as session:
        assert set(session.execute(select(WebhookEvent.id)).scalars()) == pending_ids  # pending never goes
