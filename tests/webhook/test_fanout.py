"""The fan-out of the outbox (webhook/outbox.py): the request records one row per event, a worker turns
it into deliveries later. Which endpoints get an event does not depend on how late that runs: the active
endpoints subscribed to it that existed when it was recorded; and a fan-out done twice sends once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.kit.ids import new_id
from partnerloop.models import Job, WebhookDelivery, WebhookEvent
from partnerloop.webhook.service import FANOUT_JOB, emit
from tests.conftest import ProgramKeys
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Receiver


def _endpoint(api: TestClient, program: ProgramKeys, receiver: Receiver, path: str) -> tuple[str, str]:
    response = api.post(
        "/api/v1/webhook-endpoints",
        json={"url": receiver.url(path), "events": ["sale.created"]},
        headers=program.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), str(response.json()["secret"])


def _emit(engine: Engine, program: ProgramKeys, sale_id: str) -> None:
    with transaction(engine) as session:
        emit(session, program.id, "sale.created", {"id": sale_id})


def _received(receiver: Receiver) -> list[tuple[str, str]]:
    return sorted((request.path, request.json["data"]["id"]) for request in receiver.received())


def test_a_fan_out_done_twice_makes_no_second_delivery(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    _endpoint(api, program, receiver, "/a")
    _emit(engine, program, "sale_1")
    run_jobs(engine)  # fanned out and delivered
    with transaction(engine) as session:  # the same fan-out queued again (e.g. a done job copied back by hand)
        job = session.execute(select(Job).where(Job.kind == FANOUT_JOB)).scalar_one()
        session.add(Job(id=new_id(), kind=job.kind, payload=dict(job.payload), program_id=job.program_id,
                        status="queued", attempts=0, max_attempts=job.max_attempts, run_at=job.run_at,
                        created_at=job.created_at))  # fmt: skip
    run_jobs(engine)
    with transaction(engine, writes=False) as session:
        statuses = sorted(session.execute(select(Job.status).where(Job.kind == FANOUT_JOB)).scalars())
        deliveries = session.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()
        events = session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one()
    assert (statuses, deliveries, events) == (["done", "done"], 1, 1)
    assert _received(receiver) == [("/a", "sale_1")]


def test_an_endpoint_paused_or_deleted_before_the_fan_out_gets_nothing(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    paused, _ = _endpoint(api, program, receiver, "/paused")
    deleted, _ = _endpoint(api, program, receiver, "/deleted")
    _endpoint(api, program, receiver, "/kept")
    _emit(engine, program, "sale_1")
    response = api.patch(f"/api/v1/webhook-endpoints/{paused}", json={"status": "paused"}, headers=program.headers)
    assert response.status_code == 200, response.text
    assert api.delete(f"/api/v1/webhook-endpoints/{deleted}", headers=program.headers).status_code == 204
    run_jobs(engine)
    assert _received(receiver) == [("/kept", "sale_1")]
    with transaction(engine, writes=False) as session:
        endpoints = set(session.execute(select(WebhookDelivery.endpoint_id)).scalars())
    assert paused not in endpoints and deleted not in endpoints


def test_an_endpoint_added_after_the_event_does_not_get_it_however_late_the_fan_out(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    _endpoint(api, program, receiver, "/early")
    _emit(engine, program, "sale_1")
    _endpoint(api, program, receiver, "/late")  # added before the worker fans sale_1 out
    _emit(engine, program, "sale_2")
    run_jobs(engine)
    assert _received(receiver) == [("/early", "sale_1"), ("/early", "sale_2"), ("/late", "sale_2")]
