"""SSRF: receivers must be http(s) on public addresses, checked at creation (422) and again at send time
after DNS resolution, connecting to the checked address; ALLOW_PRIVATE_WEBHOOKS=1 lifts it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import WebhookDelivery, WebhookEndpoint
from partnerloop.webhook.sender import check_url, resolve_checked
from partnerloop.webhook.service import configure_webhooks
from tests.conftest import ProgramKeys, make_settings
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Receiver

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.251/hook",
    "http://0.0.0.0/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
    "ftp://93.184.215.14/hook",
]


@pytest.mark.parametrize("url", REFUSED, ids=REFUSED)
def test_private_loopback_link_local_and_multicast_receivers_are_refused_at_creation(
    strict_api: TestClient, program: ProgramKeys, engine: Engine, url: str
) -> None:
    response = strict_api.post("/api/v1/webhook-endpoints", json={"url": url, "events": ["*"]}, headers=program.headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("url:")
    with transaction(engine, writes=False) as session:
        assert session.execute(select(func.count()).select_from(WebhookEndpoint)).scalar_one() == 0


def test_an_unresolvable_host_is_refused(strict_api: TestClient, program: ProgramKeys) -> None:
    response = strict_api.post(
        "/api/v1/webhook-endpoints",
        json={"url": "https://no-such-host.invalid/hook", "events": ["*"]},
        headers=program.headers,
    )
    assert response.status_code == 422 and "url" in response.json()["detail"]


def test_the_check_is_made_again_at_send_time(
    api: TestClient, program: ProgramKeys, engine: Engine, database_url: str, receiver: Receiver
) -> None:
    """An endpoint accepted while private receivers were allowed is refused once they are not: what
    resolves to loopback at send time is never connected to."""
    created = api.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url(), "events": ["*"]}, headers=program.headers
    ).json()
    assert api.post(f"/api/v1/webhook-endpoints/{created['id']}/test", headers=program.headers).status_code == 202
    configure_webhooks(make_settings(database_url, allow_private_webhooks=False))
    run_jobs(engine)
    assert receiver.received() == []
    with transaction(engine, writes=False) as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
    assert delivery.status == "pending" and "Refused" in (delivery.last_error or "")
    assert "loopback" in (delivery.last_error or "")


def test_a_host_name_is_connected_to_at_its_checked_address_with_its_own_host_header(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    url = f"http://localhost:{receiver.port}/named"
    created = api.post("/api/v1/webhook-endpoints", json={"url": url, "events": ["*"]}, headers=program.headers)
    assert created.status_code == 201, created.text
    api.post(f"/api/v1/webhook-endpoints/{created.json()['id']}/test", headers=program.headers)
    run_jobs(engine)
    (request,) = receiver.received()
    assert request.headers["host"] == f"localhost:{receiver.port}" and request.path == "/named"
    request.verify(created.json()["secret"])


def test_resolution_checks_every_address_and_allows_private_only_when_asked() -> None:
    assert resolve_checked("127.0.0.1", 80, allow_private=True) == "127.0.0.1"
    assert check_url("http://localhost/", allow_private=True) is None
    problem = check_url("http://localhost/", allow_private=False)
    assert problem is not None and "loopback" in problem
