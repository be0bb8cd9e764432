"""GET /metrics against a real database: requests by route template, clicks, jobs, webhook deliveries and
payouts, parsed with prometheus-client's own parser; the token and loopback restrictions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.jobs import queue
from partnerloop.jobs.runner import run_next_job
from partnerloop.kit.time import utc_now
from partnerloop.models import Payout, PayoutRun, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.conftest import ProgramKeys, make_settings
from tests.tracking.helpers import eventually, make_link, make_partner, wait_for_clicks

TOKEN = "test-metrics-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@queue.job_handler("test.ops.fails")
def _fails(_session: Session, _payload: dict[str, Any]) -> None:
    raise RuntimeError("the receiver is down")


@queue.job_handler("test.ops.works")
def _works(_session: Session, _payload: dict[str, Any]) -> None:
    return None


@pytest.fixture
def client(engine: Engine, database_url: str) -> Iterator[TestClient]:
    """With a metrics token, and no job runner: the tests run the jobs themselves."""
    app = create_app(make_settings(database_url, metrics_token=TOKEN, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_and_status(client: TestClient, program: ProgramKeys) -> None:
    partner_id = make_partner(client, program)
    make_link(client, program, key="spring", partner_id=partner_id)
    assert client.get("/go/spring", follow_redirects=False).status_code == 302
    assert client.get("/go/spring", follow_redirects=False).status_code == 302
    assert client.get("/go/no-such-key", follow_redirects=False).status_code == 404
    assert client.get(f"/api/v1/partners/{partner_id}", headers=program.headers).status_code == 200
    assert client.get("/api/v1/partners/01JNOSUCHPARTNER000000000", headers=program.headers).status_code == 404
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/static/app.css").status_code == 200

    samples = scrape(client)
    requests = "partnerloop_http_requests_total"
    assert value(samples, requests, route="/go/{key}", method="GET", status="302") == 2
    assert value(samples, requests, route="/go/{key}", method="GET", status="404") == 1
    assert value(samples, requests, route="/api/v1/partners/{partner_id}", method="GET", status="200") == 1
    assert value(samples, requests, route="/api/v1/partners/{partner_id}", method="GET", status="404") == 1
    assert value(samples, requests, route="/api/v1/partners", method="POST", status="201") == 1
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 1
    assert value(samples, requests, route="/static/{path}", method="GET", status="200") == 1

    duration = "partnerloop_http_request_duration_seconds"
    assert value(samples, f"{duration}_count", route="/go/{key}", method="GET") == 3
    assert value(samples, f"{duration}_bucket", route="/go/{key}", method="GET", le="+Inf") == 3
    assert 0 < value(samples, f"{duration}_sum", route="/go/{key}", method="GET") < 3

    # Templates only: no raw path, key or id becomes a label value (bounded series, no tenant data).
    label_values = {item for _name, labels in samples for _label, item in labels}
    for raw in ("spring", "no-such-key", partner_id, "/no/such/page", "/static/app.css", program.id):
        assert not any(raw in item for item in label_values), raw


def test_short_links_on_a_link_domain_are_one_route(client: TestClient, program: ProgramKeys) -> None:
    make_link(client, program, key="ours")
    response = client.patch("/api/v1/program", json={"link_domains": ["go.acme.test"], "fallback_url": "https://acme.test/"},
                            headers=program.headers)  # fmt: skip
    assert response.status_code == 200, response.text
    host = {"host": "go.acme.test"}
    eventually(lambda: client.get("/ours", headers=host, follow_redirects=False).status_code == 302)
    assert client.get("/nope", headers=host, follow_redirects=False).status_code == 302  # the fallback
    samples = scrape(client)
    assert value(samples, "partnerloop_http_requests_total", route="/{key}", method="GET", status="302") >= 2
    assert not any(("route", key) in labels for _name, labels in samples for key in ("/ours", "/nope"))


def test_clicks_accepted_and_written_are_counted(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="autumn")
    for _ in range(3):
        assert client.get("/go/autumn", follow_redirects=False).status_code == 302
    wait_for_clicks(client, program, link["id"], 3)

    def written_all() -> Samples | None:
        samples = scrape(client)  # the buffer counts a batch written just after its commit
        return samples if value(samples, "partnerloop_clicks_written_total") == 3 else None

    samples = eventually(written_all)
    assert value(samples, "partnerloop_clicks_accepted_total") == 3
    assert value(samples, "partnerloop_clicks_pending") == 0
    assert value(samples, "partnerloop_clicks_unwritable_total") == 0
    assert value(samples, "partnerloop_clicks_shed_total") == 0
    assert value(samples, "partnerloop_clicks_lost_total") == 0
    assert value(samples, "partnerloop_clicks_write_failing_seconds") == 0


def test_job_queue_depth_and_failures_come_from_the_database(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    later = utc_now() + timedelta(hours=1)
    with transaction(engine) as session:
        queue.enqueue(session, "test.ops.fails", program_id=program.id)  # fails once, then waits to retry
        queue.enqueue(session, "test.ops.fails", max_attempts=1)  # fails once: dead
        queue.enqueue(session, "test.ops.works")  # done: not depth
        queue.enqueue(session, "test.ops.works", run_at=later)  # queued, not due yet
        queue.enqueue(session, "test.ops.works", run_at=later)
    while run_next_job(engine, "test-worker"):
        pass

    samples = scrape(client)
    assert value(samples, "partnerloop_database_figures_up") == 1
    assert value(samples, "partnerloop_jobs", kind="test.ops.fails", status="queued") == 1
    assert value(samples, "partnerloop_jobs", kind="test.ops.fails", status="dead") == 1
    assert value(samples, "partnerloop_jobs", kind="test.ops.fails", status="running") == 0
    assert value(samples, "partnerloop_jobs_retrying", kind="test.ops.fails") == 1
    assert value(samples, "partnerloop_jobs", kind="test.ops.works", status="queued") == 2
    assert value(samples, "partnerloop_jobs_retrying", kind="test.ops.works") == 0
    assert ("partnerloop_jobs", frozenset({("kind", "test.ops.works"), ("status", "done")})) not in samples
    assert value(samples, "partnerloop_jobs_oldest_due_seconds") == 0  # the retry and the later ones are not due
    # Every registered kind has its series, zero or not, so that a dashboard's lines do not come and go.
    assert ("partnerloop_jobs", frozenset({("kind", "test.ops.never_enqueued"), ("status", "queued")})) not in samples
    assert value(samples, "partnerloop_jobs", kind="noop", status="dead") == 0
    assert ("partnerloop_jobs", frozenset({("kind", "noop"), ("status", "dead")})) in samples


def test_the_oldest_due_job_shows_how_long_the_queue_has_waited(client: TestClient, engine: Engine) -> None:
    with transaction(engine) as session:
        queue.enqueue(session, "test.ops.works", run_at=utc_now() - timedelta(minutes=5))
    waited = value(scrape(client), "partnerloop_jobs_oldest_due_seconds")
    assert 300 <= waited < 360


def test_webhook_deliveries_and_payouts_are_counted_by_status(
    client: TestClient, engine: Engine, program: ProgramKeys, other_program: ProgramKeys
) -> None:
    partners = {keys.id: make_partner(client, keys) for keys in (program, other_program)}
    with transaction(engine) as session:
        for index, keys in enumerate((program, other_program)):
            endpoint = WebhookEndpoint(program_id=keys.id, url="https://hooks.example/in", events=["*"],
                                       status="active", secret_encrypted="x")  # fmt: skip
            run = PayoutRun(program_id=keys.id, run_key=f"run-{index}", status="confirmed", cutoff=utc_now())
            session.add_all([endpoint, run])
            session.flush()
            for number, status in enumerate(("succeeded", "succeeded", "pending", "failed")):
                event = WebhookEvent(id=f"msg_{index}_{number}", program_id=keys.id, type="partner.created", body="{}")
                session.add(event)
                session.flush()
                session.add(WebhookDelivery(program_id=keys.id, endpoint_id=endpoint.id, event_id=event.id,
                                            status=status))  # fmt: skip
            session.add(Payout(program_id=keys.id, run_id=run.id, partner_id=partners[keys.id], amount=1000,
                               currency="usd", source_amount=1000, source_currency="usd", method="paypal",
                               status="paid" if index == 0 else "failed"))  # fmt: skip

    samples = scrape(client)
    deliveries = "partnerloop_webhook_deliveries"
    assert value(samples, deliveries, status="succeeded") == 4
    assert value(samples, deliveries, status="pending") == 2
    assert value(samples, deliveries, status="failed") == 2
    assert (deliveries, frozenset({("status", "canceled")})) in samples
    assert value(samples, deliveries, status="canceled") == 0
    assert value(samples, "partnerloop_payouts", status="paid") == 1
    assert value(samples, "partnerloop_payouts", status="failed") == 1
    assert value(samples, "partnerloop_payouts", status="pending") == 0
    # Across programs only: no label names a program, partner, endpoint or run.
    label_names = {label for _name, labels in samples for label, _item in labels}
    assert label_names <= {"route", "method", "status", "le", "kind", "implementation", "version", "major",
                           "minor", "patchlevel", "generation"}  # fmt: skip


def test_a_scrape_without_the_token_is_refused(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"] == "MetricsTokenRequired"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert client.get("/metrics", headers=BEARER).status_code == 200


def test_without_a_token_only_loopback_clients_may_scrape(engine: Engine, database_url: str) -> None:
    app = create_app(make_settings(database_url, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver", client=("203.0.113.9", 50000)) as remote:
        response = remote.get("/metrics")
        assert response.status_code == 403
        assert response.json()["error"] == "MetricsLoopbackOnly"
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as local:
        response = local.get("/metrics")
        assert response.status_code == 200
        assert "partnerloop_http_requests_total" in response.text


def test_metrics_can_be_turned_off(engine: Engine, database_url: str) -> None:
    app = create_app(make_settings(database_url, metrics_enabled=False, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as local:
        response = local.get("/metrics")
        assert response.status_code == 404
        assert response.json()["error"] == "MetricsDisabled"
