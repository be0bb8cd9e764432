"""Slack: a program connects an incoming-webhook URL and picks events; the outbox's fan-out turns them
into Block Kit posts sent from the job queue to a loopback server speaking Slack's incoming-webhook API
(200 "ok", or 429 with Retry-After, which is honoured). The URL is stored encrypted and shown masked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.kit.time import utc_now
from partnerloop.models import SlackConnection
from partnerloop.webhook.catalogue import BY_TYPE
from partnerloop.webhook.service import configure_webhooks, emit
from tests.conftest import ProgramKeys, make_settings
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Answer, Receiver

URL = "/api/v1/integrations/slack"


@pytest.fixture
def slack() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def api(engine: Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(database_url, allow_private_integrations=True, run_jobs_in_process=False)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client
    configure_webhooks(None)


@pytest.fixture
def strict_api(engine: Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(database_url, allow_private_integrations=False, run_jobs_in_process=False)
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client
    configure_webhooks(None)


def _stored(engine: Engine) -> list[SlackConnection]:
    with transaction(engine, writes=False) as session:
        return list(session.execute(select(SlackConnection)).scalars())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"webhook_url": "http://127.0.0.1:9/hook", "events": ["sale.created"]}, "webhook_url"),
        ({"webhook_url": "https://hooks.slack.com.evil.test/services/T/B/x", "events": []}, "webhook_url"),
        ({"webhook_url": "https://hooks.slack.com/services/T/B/x", "events": ["lead.created"]}, "events"),
        ({"events": ["sale.created"]}, "webhook_url"),
        ({"webhook_url": "https://hooks.slack.com/services/T/B/x", "sale_min_amount": -1}, "sale_min_amount"),
    ],
    ids=["loopback in production", "a look-alike host", "an event Slack does not post", "no URL", "negative amount"],
)
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(
    strict_api: TestClient, program: ProgramKeys, engine: Engine, body: dict[str, object], field: str
) -> None:
    response = strict_api.put(URL, json=body, headers=program.headers)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert _stored(engine) == []


def test_slack_url_is_accepted_in_production_encrypted_and_masked(
    strict_api: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    url = "https://hooks.slack.com/services/T000/B000/secretpathwxyz"
    response = strict_api.put(URL, json={"webhook_url": url, "events": ["alert.raised"]}, headers=program.headers)
    assert response.status_code == 200, response.text
    shown = strict_api.get(URL, headers=program.headers).json()
    assert shown["connected"] is True and shown["events"] == ["alert.raised"]
    assert "secretpath" not in shown["webhook_url"] and shown["webhook_url"].endswith("wxyz")
    [row] = _stored(engine)
    assert "secretpath" not in row.webhook_url_encrypted
    assert strict_api.delete(URL, headers=program.headers).status_code == 204
    assert strict_api.get(URL, headers=program.headers).json()["connected"] is False


def test_chosen_events_post_block_kit_messages_with_retry_after_honoured(
    api: TestClient, program: ProgramKeys, engine: Engine, slack: Receiver
) -> None:
    body = {"webhook_url": slack.url("/services/T1/B1/x"), "events": ["partner.applied", "sale.created"],
            "sale_min_amount": 5000}  # fmt: skip
    assert api.put(URL, json=body, headers=program.headers).status_code == 200
    slack.answers = [Answer(status=429, body=b"rate_limited", headers={"Retry-After": "2"})]
    partner = {**BY_TYPE["partner.created"].example, "name": "Ada", "status": "pending"}
    with transaction(engine) as session:
        emit(session, program.id, "partner.created", partner)
        emit(session, program.id, "partner.created", {**partner, "name": "Added", "status": "approved"})
        emit(session, program.id, "sale.created", {**BY_TYPE["sale.created"].example, "amount": 12000})
        emit(session, program.id, "sale.created", {**BY_TYPE["sale.created"].example, "amount": 100})
        emit(session, program.id, "lead.created", BY_TYPE["lead.created"].example)
    run_jobs(engine)
    first = slack.received()
    assert len(first) == 2 and first[0].json["text"].startswith("New partner application: Ada")

    run_jobs(engine, now=utc_now() + timedelta(seconds=1))
    assert len(slack.received()) == 2  # Retry-After: 2 s not yet passed
    run_jobs(engine, now=utc_now() + timedelta(seconds=3))
    posts = [request.json for request in slack.received()]
    assert len(posts) == 3
    texts = sorted(post["text"] for post in posts[1:])
    assert texts == ["New partner application: Ada (ada@example.com)", "New sale: 120.00 USD · team"]
    blocks = [post["blocks"] for post in posts]
    links = [element["url"] for block in blocks for item in block if item["type"] == "actions"
             for element in item["elements"]]  # fmt: skip
    assert f"http://testserver/manage/partners/{partner['id']}" in links
    assert "http://testserver/manage/commissions" in links
    assert _stored(engine)[0].last_error is None
