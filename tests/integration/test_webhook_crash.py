"""A worker killed with SIGKILL in the middle of delivering webhooks loses no event: the outbox rows
committed with the changes are fanned out into pending deliveries, a fresh `partnerloop worker` takes
the jobs over once their lease has passed, and every event reaches the receiver (the ones in flight again, with the same
webhook-id). Real worker processes, a real database, a real loopback receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.jobs.queue import claim, claim_more
from partnerloop.kit.time import utc_now
from partnerloop.models import Job, WebhookDelivery, WebhookEvent
from partnerloop.webhook.service import DELIVER_JOB, FANOUT_JOB
from tests.conftest import ProgramKeys, make_settings
from tests.jobs.processes import Process
from tests.webhook.receiver import Answer, Receiver

pytestmark = pytest.mark.slow

EVENTS = 20


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def _statuses(engine: Engine) -> dict[str, int]:
    with transaction(engine, writes=False) as session:
        rows = session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)).all()
    return {str(status): int(count) for status, count in rows}


def _partners_made(database_url: str, program: ProgramKeys, receiver: Receiver) -> str:
    """An endpoint for partner.created at the receiver, then EVENTS partners made through the API (their
    events in the outbox, no worker running); returns the endpoint's secret."""
    app = create_app(make_settings(database_url, allow_private_webhooks=True, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as api:
        created = api.post(
            "/api/v1/webhook-endpoints", json={"url": receiver.url(), "events": ["partner.created"]},
            headers=program.headers,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        for index in range(EVENTS):
            response = api.post(
                "/api/v1/partners", json={"email": f"p{index}@example.com", "name": f"P{index}"},
                headers=program.headers,
            )  # fmt: skip
            assert response.status_code == 201
    return str(created.json()["secret"])


def test_sigkill_mid_delivery_loses_no_event(
    engine: Engine, database_url: str, program: ProgramKeys, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "1")
    monkeypatch.delenv("SMTP_URL", raising=False)
    secret = _partners_made(database_url, program, receiver)
    with transaction(engine, writes=False) as session:  # in the outbox with the partners, not fanned out yet
        recorded = session.execute(select(func.count()).select_from(Job).where(Job.kind == FANOUT_JOB)).scalar_one()
    assert (recorded, _statuses(engine)) == (EVENTS, {})

    receiver.default = Answer(delay_s=5.0)  # the first requests hang while the worker is killed
    first = Process(["worker"], database_url)
    try:
        receiver.wait_for(1, timeout=60)
    finally:
        first.popen.kill()
        first.popen.wait()
    assert _statuses(engine).get("succeeded", 0) < EVENTS
    with transaction(engine) as session:  # the lease of the killed worker's jobs passes (instead of 60 s)
        running = session.execute(
            update(Job)
            .where(Job.kind.in_([DELIVER_JOB, FANOUT_JOB]), Job.status == "running")
            .values(locked_until=utc_now().replace(year=2000))
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    assert running >= 1

    receiver.default = Answer()
    second = Process(["worker"], database_url)
    try:
        deadline = time.monotonic() + 60
        while _statuses(engine) != {"succeeded": EVENTS}:
            assert time.monotonic() < deadline, (_statuses(engine), second.output)
            time.sleep(0.1)
    finally:
        assert second.terminate() == 0
    with transaction(engine, writes=False) as session:
        event_ids = set(session.execute(select(WebhookEvent.id)).scalars())
    received = receiver.received()
    assert {request.headers["webhook-id"] for request in received} == event_ids
    emails = {request.verify(secret)["data"]["email"] for request in received}
    assert emails == {f"p{index}@example.com" for index in range(EVENTS)}


def test_events_recorded_but_not_fanned_out_are_delivered_by_a_restarted_worker(
    engine: Engine, database_url: str, program: ProgramKeys, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_PRIVATE_WEBHOOKS", "1")
    monkeypatch.delenv("SMTP_URL", raising=False)
    secret = _partners_made(database_url, program, receiver)
    with transaction(engine) as session:  # a worker took the fan-out jobs, then died before committing any
        now = utc_now()
        first = claim(session, "killed-worker", now)
        assert first is not None and first.kind == FANOUT_JOB
        taken = [first, *claim_more(session, FANOUT_JOB, "killed-worker", now, EVENTS)]
    assert len(taken) == EVENTS and _statuses(engine) == {}
    with transaction(engine) as session:  # its lease passes (instead of 60 s)
        session.execute(
            update(Job)
            .where(Job.kind == FANOUT_JOB, Job.status == "running")
            .values(locked_until=utc_now().replace(year=2000))
            .execution_options(synchronize_session=False)
        )
    worker = Process(["worker"], database_url)
    try:
        deadline = time.monotonic() + 60
        while _statuses(engine) != {"succeeded": EVENTS}:
            assert time.monotonic() < deadline, (_statuses(engine), worker.output)
            time.sleep(0.1)
    finally:
        assert worker.terminate() == 0
    received = receiver.received()
    assert len(received) == EVENTS  # each once
    emails = {request.verify(secret)["data"]["email"] for request in received}
    assert emails == {f"p{index}@example.com" for index in range(EVENTS)}
    with transaction(engine, writes=False) as session:
        fanouts = set(session.execute(select(Job.status).where(Job.kind == FANOUT_JOB)).scalars())
    assert fanouts == {"done"}
