"""The webhook-endpoints API (API.md "Outbound webhooks") against real loopback receivers; every
delivery is checked with the official standardwebhooks verifier."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from partnerloop.webhook.catalogue import SUBSCRIBABLE
from tests.conftest import ProgramKeys
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Receiver


def _create(api: TestClient, program: ProgramKeys, url: str, events: list[str] | None = None, **extra: Any) -> Any:
    response = api.post(
        "/api/v1/webhook-endpoints", json={"url": url, "events": events or ["*"], **extra}, headers=program.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def _count(engine: Engine, model: Any) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_create_answers_the_secret_once_and_stores_it_encrypted(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    created = _create(api, program, receiver.url(), ["sale.created"], description="CRM")
    assert set(created) >= {"id", "url", "events", "secret", "status"}
    assert created["status"] == "active" and created["events"] == ["sale.created"]
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    fetched = api.get(f"/api/v1/webhook-endpoints/{created['id']}", headers=program.headers).json()
    assert "secret" not in fetched and fetched["description"] == "CRM"
    listed = api.get("/api/v1/webhook-endpoints", headers=program.headers).json()
    assert [row["id"] for row in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]
    with transaction(engine, writes=False) as session:
        stored = session.get(WebhookEndpoint, created["id"])
        assert stored is not None
        assert secret not in stored.secret_encrypted and secret.removeprefix("whsec_") not in stored.secret_encrypted
    other = _create(api, program, receiver.url("/other"))
    assert other["secret"] != secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["*"]}, "url"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"url": "https://user:pw@example.com/x", "events": ["*"]}, "url"),
        ({"url": "https://example.com/x", "events": ["sale.made"]}, "events"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x"}, "events"),
        ({"events": ["*"]}, "url"),
        ({"url": "https://example.com/x", "events": "sale.created"}, "events"),
        ({"url": "https://example.com/x", "events": ["*"], "colour": "red"}, "colour"),
    ],
    ids=[
        "an ftp url is refused",
        "a url without a scheme is refused",
        "a url with credentials is refused",
        "an unknown event type is refused",
        "an empty event list is refused",
        "a missing event list is refused",
        "a missing url is refused",
        "events as a string is refused",
        "an unknown field is refused",
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    api: TestClient, program: ProgramKeys, engine: Engine, body: dict[str, Any], field: str
) -> None:
    response = api.post("/api/v1/webhook-endpoints", json=body, headers=program.headers)
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert _count(engine, WebhookEndpoint) == 0


def test_patch_with_a_bad_url_or_event_changes_nothing(
    api: TestClient, program: ProgramKeys, receiver: Receiver
) -> None:
    created = _create(api, program, receiver.url(), ["sale.created"])
    path = f"/api/v1/webhook-endpoints/{created['id']}"
    for body, field in (
        ({"url": "gopher://x"}, "url"),
        ({"events": ["nope"]}, "events"),
        ({"status": "gone"}, "status"),
    ):
        response = api.patch(path, json=body, headers=program.headers)
        assert response.status_code == 422 and field in response.json()["detail"], response.text
    after = api.get(path, headers=program.headers).json()
    assert after["url"] == receiver.url() and after["events"] == ["sale.created"] and after["status"] == "active"


def test_catalogue_lists_every_event_type_of_the_contract_with_an_example(
    api: TestClient, program: ProgramKeys
) -> None:
    listed = api.get("/api/v1/webhook-event-types", headers=program.headers).json()["data"]
    types = {row["type"] for row in listed}
    contract = {
        "partner.created", "partner.approved", "lead.created", "sale.created", "refund.created",
        "commission.created", "commission.approved", "commission.reversed", "payout.paid", "payout.failed",
        "reward.created", "reward.issued", "alert.raised", "goal.achieved",
    }  # fmt: skip
    assert contract <= types and contract <= SUBSCRIBABLE
    assert all(row["example"] and row["description"] for row in listed)


def test_test_event_is_delivered_signed_and_browsable(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    created = _create(api, program, receiver.url(), ["sale.created"])
    response = api.post(f"/api/v1/webhook-endpoints/{created['id']}/test", headers=program.headers)
    assert response.status_code == 202, response.text
    delivery = response.json()
    assert delivery["status"] == "pending" and delivery["event_type"] == "webhook.test"
    assert run_jobs(engine) == 1
    (request,) = receiver.received()
    payload = request.verify(created["secret"])
    assert payload["type"] == "webhook.test" and payload["data"]["endpoint_id"] == created["id"]
    assert request.headers["webhook-id"] == delivery["event_id"]
    assert set(payload) == {"type", "timestamp", "data"}
    listed = api.get(f"/api/v1/webhook-endpoints/{created['id']}/deliveries", headers=program.headers).json()
    (row,) = listed["data"]
    assert row["status"] == "succeeded" and row["attempts"] == 1 and row["last_status_code"] == 200
    (attempt,) = row["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["response_excerpt"] == "ok" and attempt["duration_ms"] >= 0
    assert attempt["request_headers"]["webhook-id"] == delivery["event_id"]
    assert row["request_body"] == payload


def test_test_event_of_a_catalogue_type_sends_its_example(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    created = _create(api, program, receiver.url())
    response = api.post(
        f"/api/v1/webhook-endpoints/{created['id']}/test", json={"event_type": "sale.created"}, headers=program.headers
    )
    assert response.status_code == 202
    run_jobs(engine)
    payload = receiver.received()[0].verify(created["secret"])
    assert payload["type"] == "sale.created" and payload["data"]["invoice_id"] and payload["data"]["test"] is True
    bad = api.post(
        f"/api/v1/webhook-endpoints/{created['id']}/test", json={"event_type": "nope"}, headers=program.headers
    )
    assert bad.status_code == 422 and "event_type" in bad.json()["detail"]


def test_pause_resume_delete(api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver) -> None:
    created = _create(api, program, receiver.url())
    path = f"/api/v1/webhook-endpoints/{created['id']}"
    assert api.patch(path, json={"status": "paused"}, headers=program.headers).json()["status"] == "paused"
    assert api.post(f"{path}/test", headers=program.headers).status_code == 409
    assert api.patch(path, json={"status": "active"}, headers=program.headers).json()["status"] == "active"
    assert api.post(f"{path}/test", headers=program.headers).status_code == 202
    assert api.delete(path, headers=program.headers).status_code == 204
    assert api.get(path, headers=program.headers).status_code == 404
    assert run_jobs(engine) == 1  # the queued job finds nothing and does nothing
    assert receiver.received() == []
    assert _count(engine, WebhookDelivery) == 0


def test_another_programs_endpoint_is_a_404(
    api: TestClient, program: ProgramKeys, other_program: ProgramKeys, receiver: Receiver
) -> None:
    created = _create(api, program, receiver.url())
    path = f"/api/v1/webhook-endpoints/{created['id']}"
    assert api.get(path, headers=other_program.headers).status_code == 404
    assert api.patch(path, json={"status": "paused"}, headers=other_program.headers).status_code == 404
    assert api.delete(path, headers=other_program.headers).status_code == 404
    assert api.get(f"{path}/deliveries", headers=other_program.headers).status_code == 404
    assert api.get(path, headers=program.headers).json()["status"] == "active"


def test_without_a_key_it_is_a_401(api: TestClient) -> None:
    assert api.get("/api/v1/webhook-endpoints").status_code == 401
    assert api.post("/api/v1/webhook-endpoints", json={}).status_code == 401


def test_events_are_written_only_for_subscribed_endpoints(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    _create(api, program, receiver.url("/partners"), ["partner.created"])
    response = api.post("/api/v1/partners", json={"email": "p@example.com", "name": "P"}, headers=program.headers)
    assert response.status_code == 201
    run_jobs(engine)  # the fan-out matches endpoints
    with transaction(engine, writes=False) as session:
        assert [event.type for event in session.execute(select(WebhookEvent)).scalars()] == ["partner.created"]


def test_the_documentation_lists_every_event_type() -> None:
    from pathlib import Path

    from partnerloop.webhook.catalogue import EVENT_TYPES

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    missing = [event.type for event in EVENT_TYPES if f"### `{event.type}`" not in text]
    assert missing == []


def test_every_event_besides_named_ones_is_just_every_event(
    api: TestClient, program: ProgramKeys, receiver: Receiver
) -> None:
    created = _create(api, program, receiver.url(), ["sale.created", "*", "sale.created"])
    assert created["events"] == ["*"]
