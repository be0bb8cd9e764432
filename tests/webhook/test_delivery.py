"""Delivery by the job-queue workers against real loopback receivers: the retry schedule (time driven
explicitly through the queue's `now`), Retry-After, 410, redirects, slow and huge receivers, five days
of failures, secret rotation, retries by hand. Every request is verified with standardwebhooks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from standardwebhooks.webhooks import WebhookVerificationError

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import WebhookDelivery, WebhookEndpoint
from partnerloop.webhook.rules import JITTER, MAX_ATTEMPTS, RETRY_SCHEDULE
from partnerloop.webhook.sender import RESPONSE_LIMIT_BYTES
from tests.conftest import ProgramKeys, make_settings
from tests.notify.smtp import SmtpRecorder
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Answer, Receiver


def _endpoint(api: TestClient, program: ProgramKeys, receiver: Receiver, path: str = "/hook") -> dict[str, Any]:
    response = api.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url(path), "events": ["*"]}, headers=program.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _test_event(api: TestClient, program: ProgramKeys, endpoint_id: str) -> dict[str, Any]:
    response = api.post(f"/api/v1/webhook-endpoints/{endpoint_id}/test", headers=program.headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


def _delivery(engine: Engine, delivery_id: str) -> WebhookDelivery:
    with transaction(engine, writes=False) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        return delivery


def _endpoint_row(engine: Engine, endpoint_id: str) -> WebhookEndpoint:
    with transaction(engine, writes=False) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        return endpoint


@pytest.fixture
def mail_api(engine: Engine, database_url: str) -> Iterator[tuple[TestClient, SmtpRecorder]]:
    with SmtpRecorder() as smtp:
        app = create_app(
            make_settings(database_url, allow_private_webhooks=True, run_jobs_in_process=False, smtp_url=smtp.url)
        )
        with TestClient(app, base_url="http://testserver") as client:
            yield client, smtp


def test_failures_retry_on_the_schedule_with_the_same_webhook_id_then_fail(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    receiver.default = Answer(status=500, body=b"down")
    endpoint = _endpoint(api, program, receiver)
    delivery = _test_event(api, program, endpoint["id"])
    assert run_jobs(engine) == 1
    for attempt, step in enumerate(RETRY_SCHEDULE, start=1):
        row = _delivery(engine, delivery["id"])
        assert row.status == "pending" and row.attempts == attempt and row.next_attempt_at is not None
        assert row.last_attempt_at is not None
        waited = row.next_attempt_at - row.last_attempt_at
        assert step * (1 - JITTER) - timedelta(seconds=1) <= waited <= step * (1 + JITTER) + timedelta(seconds=1)
        assert run_jobs(engine, now=row.next_attempt_at - timedelta(seconds=1)) == 0  # not due yet
        # One job at a time: the attempts are recorded at the real clock, the queue is driven ahead of it.
        assert run_jobs(engine, now=row.next_attempt_at + timedelta(seconds=1), limit=1) == 1
    final = _delivery(engine, delivery["id"])
    assert final.status == "failed" and final.attempts == MAX_ATTEMPTS and final.next_attempt_at is None
    requests = receiver.received()
    assert len(requests) == MAX_ATTEMPTS
    assert {request.headers["webhook-id"] for request in requests} == {delivery["event_id"]}
    for request in requests:
        request.verify(endpoint["secret"])
    assert len({request.body for request in requests}) == 1  # the same body, byte for byte
    assert run_jobs(engine, now=utc_now() + timedelta(days=3)) == 0
    log = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=program.headers).json()["data"][0]
    assert [attempt["status_code"] for attempt in log["attempt_log"]] == [500] * MAX_ATTEMPTS
    assert log["attempt_log"][0]["response_excerpt"] == "down"
    assert _endpoint_row(engine, endpoint["id"]).status == "active"  # failing for a day, not five


def test_a_success_after_failures_ends_the_delivery_and_the_endpoints_failing(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    receiver.answers = [Answer(status=503), Answer(status=204, body=b"")]
    endpoint = _endpoint(api, program, receiver)
    delivery = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    assert _endpoint_row(engine, endpoint["id"]).failing_since is not None
    row = _delivery(engine, delivery["id"])
    assert row.next_attempt_at is not None
    run_jobs(engine, now=row.next_attempt_at + timedelta(seconds=1))
    row = _delivery(engine, delivery["id"])
    assert row.status == "succeeded" and row.attempts == 2 and row.last_status_code == 204
    assert _endpoint_row(engine, endpoint["id"]).failing_since is None


def test_retry_after_is_honoured(api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver) -> None:
    receiver.answers = [Answer(status=429, headers={"Retry-After": "120"})]
    endpoint = _endpoint(api, program, receiver)
    delivery = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    row = _delivery(engine, delivery["id"])
    assert row.next_attempt_at is not None and row.last_attempt_at is not None
    assert timedelta(seconds=119) <= row.next_attempt_at - row.last_attempt_at <= timedelta(seconds=121)
    assert run_jobs(engine, now=row.last_attempt_at + timedelta(seconds=60)) == 0
    assert run_jobs(engine, now=row.next_attempt_at + timedelta(seconds=1)) == 1
    assert _delivery(engine, delivery["id"]).status == "succeeded"


def test_410_disables_the_endpoint_at_once_and_tells_the_admins(
    mail_api: tuple[TestClient, SmtpRecorder], program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    api, smtp = mail_api
    receiver.default = Answer(status=410, body=b"gone")
    endpoint = _endpoint(api, program, receiver)
    first = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    row = _delivery(engine, first["id"])
    assert row.status == "failed" and row.attempts == 1 and row.next_attempt_at is None
    stored = _endpoint_row(engine, endpoint["id"])
    assert stored.status == "disabled" and "410" in (stored.disabled_reason or "")
    with transaction(engine) as session:  # later events are not even written for a disabled endpoint
        from partnerloop.webhook.service import emit

        emit(session, program.id, "sale.created", {"id": "s"})
    run_jobs(engine)
    assert len(receiver.received()) == 1
    retry = api.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{first['id']}/retry", headers=program.headers
    )
    assert retry.status_code == 409
    message = smtp.wait_for(to="owner-acme@example.com", subject="Webhook endpoint disabled")
    assert receiver.url() in message.text and "410" in message.text
    shown = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=program.headers).json()
    assert shown["status"] == "disabled"
    resumed = api.patch(
        f"/api/v1/webhook-endpoints/{endpoint['id']}", json={"status": "active"}, headers=program.headers
    )
    assert resumed.json()["status"] == "active" and resumed.json()["disabled_reason"] is None


def test_five_days_of_failures_disable_the_endpoint_and_tell_the_admins(
    mail_api: tuple[TestClient, SmtpRecorder], program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    api, smtp = mail_api
    receiver.default = Answer(status=500)
    endpoint = _endpoint(api, program, receiver)
    with transaction(engine) as session:
        row = session.get(WebhookEndpoint, endpoint["id"])
        assert row is not None
        row.failing_since = utc_now() - timedelta(days=4, hours=23)
    first = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    assert _delivery(engine, first["id"]).status == "pending"  # four days and 23 hours: still trying
    assert _endpoint_row(engine, endpoint["id"]).status == "active"
    with transaction(engine) as session:
        row = session.get(WebhookEndpoint, endpoint["id"])
        assert row is not None
        row.failing_since = utc_now() - timedelta(days=5, minutes=1)
    pending = _delivery(engine, first["id"])
    assert pending.next_attempt_at is not None
    run_jobs(engine, now=pending.next_attempt_at + timedelta(seconds=1))
    assert _delivery(engine, first["id"]).status == "failed"
    stored = _endpoint_row(engine, endpoint["id"])
    assert stored.status == "disabled" and "five days" in (stored.disabled_reason or "")
    smtp.wait_for(to="owner-acme@example.com", subject="Webhook endpoint disabled")


def test_a_redirect_is_a_failure_and_is_not_followed(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    receiver.answers = [Answer(status=302, headers={"Location": receiver.url("/elsewhere")}, body=b"")]
    endpoint = _endpoint(api, program, receiver)
    delivery = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    row = _delivery(engine, delivery["id"])
    assert row.status == "pending" and row.last_status_code == 302 and "redirect" in (row.last_error or "").lower()
    assert [request.path for request in receiver.received()] == ["/hook"]


def test_a_slow_receiver_times_out_without_holding_the_worker(
    engine: Engine, database_url: str, program: ProgramKeys, receiver: Receiver
) -> None:
    app = create_app(
        make_settings(database_url, allow_private_webhooks=True, run_jobs_in_process=False, webhook_timeout_s=0.5)
    )
    with TestClient(app, base_url="http://testserver") as api:
        receiver.default = Answer(delay_s=3.0)
        endpoint = _endpoint(api, program, receiver)
        delivery = _test_event(api, program, endpoint["id"])
        started = time.monotonic()
        run_jobs(engine)
        assert time.monotonic() - started < 2.5
    row = _delivery(engine, delivery["id"])
    assert row.status == "pending" and row.last_status_code is None and "Timeout" in (row.last_error or "")


def test_a_huge_answer_is_cut_at_the_limit(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    receiver.default = Answer(endless=True)
    endpoint = _endpoint(api, program, receiver)
    delivery = _test_event(api, program, endpoint["id"])
    started = time.monotonic()
    run_jobs(engine)
    assert time.monotonic() - started < 5
    row = _delivery(engine, delivery["id"])
    assert row.status == "succeeded" and row.last_status_code == 200  # a 2xx answered: delivered
    log = api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=program.headers).json()["data"][0]
    assert 0 < len(log["attempt_log"][0]["response_excerpt"]) <= RESPONSE_LIMIT_BYTES


def test_a_dead_receiver_fails_fast(api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver) -> None:
    endpoint = _endpoint(api, program, receiver)
    receiver.stop()
    delivery = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    row = _delivery(engine, delivery["id"])
    assert row.status == "pending" and row.last_status_code is None and row.last_error
    receiver.server.server_close()


def test_rotation_signs_with_both_secrets_for_24_hours(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    endpoint = _endpoint(api, program, receiver)
    old = endpoint["secret"]
    rotated = api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=program.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old and new.startswith("whsec_")
    assert "secret" not in api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}", headers=program.headers).json()
    _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    (request,) = receiver.received()
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    request.verify(new)
    request.verify(old)
    with transaction(engine) as session:
        row = session.get(WebhookEndpoint, endpoint["id"])
        assert row is not None
        row.previous_secret_expires_at = utc_now() - timedelta(seconds=1)  # the 24 hours are over
    _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    later = receiver.received()[1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    later.verify(new)
    with pytest.raises(WebhookVerificationError):
        later.verify(old)


def test_a_retry_by_hand_sends_the_same_webhook_id_again(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    receiver.answers = [Answer(status=500)]
    endpoint = _endpoint(api, program, receiver)
    delivery = _test_event(api, program, endpoint["id"])
    run_jobs(engine)
    retried = api.post(
        f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/retry", headers=program.headers
    )
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending"
    run_jobs(engine)
    row = _delivery(engine, delivery["id"])
    assert row.status == "succeeded" and row.attempts == 2
    first_scheduled = run_jobs(engine, now=utc_now() + timedelta(hours=1))
    assert first_scheduled == 1 and _delivery(engine, delivery["id"]).attempts == 2  # the replaced one did nothing
    requests = receiver.received()
    assert len(requests) == 2 and {r.headers["webhook-id"] for r in requests} == {delivery["event_id"]}
    for request in requests:
        request.verify(endpoint["secret"])
    missing = api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/nope/retry", headers=program.headers)
    assert missing.status_code == 404


def test_deliveries_of_a_fan_out_go_out_side_by_side(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    secrets = [_endpoint(api, program, receiver, f"/r{index}")["secret"] for index in range(5)]
    receiver.default = Answer(delay_s=0.4)
    with transaction(engine) as session:
        from partnerloop.webhook.service import emit

        emit(session, program.id, "sale.created", {"id": "fan"})
    started = time.monotonic()
    assert run_jobs(engine) == 2  # the fan-out, then one deliver job for all five
    assert time.monotonic() - started < 1.6  # five 0.4 s receivers in parallel, not 2 s in a row
    requests = receiver.received()
    assert sorted(request.path for request in requests) == [f"/r{index}" for index in range(5)]
    for request in requests:
        request.verify(secrets[int(request.path[2:])])
    with transaction(engine, writes=False) as session:
        statuses = set(session.execute(select(WebhookDelivery.status)).scalars())
    assert statuses == {"succeeded"}
