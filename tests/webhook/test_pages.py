"""/manage/webhooks: add (secret shown once), pause, rotate, test, browse deliveries, retry, delete;
CSRF-checked like every dashboard form; a viewer reads only."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import WebhookEndpoint
from tests.conftest import ProgramKeys
from tests.manage.factories import as_member, as_owner, form_post
from tests.webhook.conftest import run_jobs
from tests.webhook.receiver import Answer, Receiver


def _endpoints(engine: Engine) -> list[WebhookEndpoint]:
    with transaction(engine, writes=False) as session:
        return list(session.execute(select(WebhookEndpoint)).scalars())


def test_add_an_endpoint_and_see_its_secret_once(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    as_owner(api)
    page = f"/manage/webhooks?program={program.id}"
    listing = api.get(page)
    assert listing.status_code == 200 and "Add an endpoint" in listing.text and "sale.created" in listing.text
    assert 'href="/manage/webhooks?program=' in listing.text  # the nav link
    response = form_post(api, page, page, [("url", receiver.url()), ("description", "CRM"), ("events", "sale.created")])
    assert response.status_code == 201, response.text
    found = re.search(r'value="(whsec_[^"]+)"', response.text)
    assert found is not None
    (stored,) = _endpoints(engine)
    assert stored.url == receiver.url() and stored.events == ["sale.created"] and stored.description == "CRM"
    again = api.get(page).text
    assert found.group(1) not in again and receiver.url() in again


def test_a_bad_url_or_no_event_is_explained_and_stores_nothing(
    api: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    as_owner(api)
    page = f"/manage/webhooks?program={program.id}"
    bad_url = form_post(api, page, page, [("url", "ftp://example.com/x"), ("events", "*")])
    assert bad_url.status_code == 422 and "url:" in bad_url.text and "ftp://example.com/x" in bad_url.text
    no_events = form_post(api, page, page, [("url", "https://example.com/x")])
    assert no_events.status_code == 422 and "events" in no_events.text
    assert _endpoints(engine) == []


def test_a_form_without_its_csrf_token_is_refused(api: TestClient, program: ProgramKeys, engine: Engine) -> None:
    as_owner(api)
    response = api.post(
        f"/manage/webhooks?program={program.id}",
        data={"url": "https://example.com/x", "events": "*"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert _endpoints(engine) == []


def test_test_event_deliveries_retry_pause_rotate_delete(
    api: TestClient, program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    as_owner(api)
    page = f"/manage/webhooks?program={program.id}"
    created = form_post(api, page, page, [("url", receiver.url()), ("events", "*")])
    secret = re.search(r'value="(whsec_[^"]+)"', created.text)
    assert secret is not None
    (endpoint,) = _endpoints(engine)
    detail = f"/manage/webhooks/{endpoint.id}?program={program.id}"
    action = f"/manage/webhooks/{endpoint.id}"
    receiver.answers = [Answer(status=500, body=b"receiver exploded")]
    queued = form_post(api, detail, f"{action}/test?program={program.id}", {"event_type": "sale.created"})
    assert queued.status_code == 303
    run_jobs(engine)
    shown = api.get(detail).text
    assert "sale.created" in shown and "receiver exploded" in shown and "500" in shown and "pending" in shown
    delivery_id = re.search(r"/deliveries/([0-9a-z]+)/retry", shown)
    assert delivery_id is not None
    retried = form_post(api, detail, f"{action}/deliveries/{delivery_id.group(1)}/retry?program={program.id}", {})
    assert retried.status_code == 303
    run_jobs(engine)
    shown = api.get(detail).text
    assert "succeeded" in shown
    requests = receiver.received()
    assert len(requests) == 2 and requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]
    requests[1].verify(secret.group(1))

    paused = form_post(api, detail, f"{action}/status?program={program.id}", {"status": "paused"})
    assert paused.status_code == 303 and _endpoints(engine)[0].status == "paused"
    assert "Resume" in api.get(detail).text
    form_post(api, detail, f"{action}/status?program={program.id}", {"status": "active"})
    assert _endpoints(engine)[0].status == "active"

    rotated = form_post(api, detail, f"{action}/rotate?program={program.id}", {})
    new_secret = re.search(r'value="(whsec_[^"]+)"', rotated.text)
    assert rotated.status_code == 200 and new_secret is not None and new_secret.group(1) != secret.group(1)

    deleted = form_post(api, detail, f"{action}/delete?program={program.id}", {})
    assert deleted.status_code == 303 and _endpoints(engine) == []


def test_a_viewer_reads_but_cannot_add(api: TestClient, program: ProgramKeys, engine: Engine) -> None:
    as_member(api, engine, program, "viewer")
    page = f"/manage/webhooks?program={program.id}"
    shown = api.get(page)
    assert shown.status_code == 200 and "Add an endpoint" not in shown.text
    refused = form_post(api, page, page, [("url", "https://example.com/x"), ("events", "*")])
    assert refused.status_code == 403
    with transaction(engine, writes=False) as session:
        assert session.execute(select(func.count()).select_from(WebhookEndpoint)).scalar_one() == 0


def test_another_programs_endpoint_page_is_not_found(
    api: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine, receiver: Receiver
) -> None:
    created = api.post(
        "/api/v1/webhook-endpoints", json={"url": receiver.url(), "events": ["*"]}, headers=other_program.headers
    ).json()
    as_owner(api)
    assert api.get(f"/manage/webhooks/{created['id']}?program={program.id}").status_code == 404
