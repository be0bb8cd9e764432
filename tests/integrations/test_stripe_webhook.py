"""The webhook endpoint: verify with the official library, store once, enqueue, answer at once."""

from __future__ import annotations

import json
import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.models import Job, StripeEvent
from tests.commission.factories import counts
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.stripe_kit import (
    SECRET,
    connect,
    new_event,
    paid_invoice,
    post_event,
    send,
    sign,
    stored_events,
)


def _stored(engine: Engine) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(StripeEvent)).scalar_one())


def _post_raw(client: TestClient, program: ProgramKeys, payload: bytes, signature: str | None) -> object:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(f"/integrations/stripe/webhook/{program.id}", content=payload, headers=headers)


def test_signed_event_is_stored_and_answered_received(client: TestClient, program: ProgramKeys) -> None:
    connect(client, program)
    event = new_event("invoice.paid", paid_invoice("in_ok", "cus_ok"))
    response = post_event(client, program, event)
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert [row["event_id"] for row in stored_events(client, program)] == [event["id"]]


def test_event_signed_with_another_secret_is_400_and_writes_nothing(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    connect(client, program)
    event = new_event("invoice.paid", paid_invoice("in_bad", "cus_bad"))
    response = post_event(client, program, event, secret="whsec_someone_else")
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidSignature"
    assert _stored(engine) == 0
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


def test_unsigned_stale_and_tampered_events_are_refused(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    connect(client, program)
    payload = json.dumps(new_event("invoice.paid", paid_invoice("in_x", "cus_x"))).encode()
    stale = sign(payload, SECRET, int(time.time()) - 301)
    tampered = payload.replace(b"in_x", b"in_y")
    for body, signature in ((payload, None), (payload, stale), (tampered, sign(payload)), (payload, "garbage")):
        response = _post_raw(client, program, body, signature)
        assert response.status_code == 400, response.text  # type: ignore[attr-defined]
        assert response.json()["error"] == "InvalidSignature"  # type: ignore[attr-defined]
    assert _stored(engine) == 0


def test_event_signed_too_far_in_the_future_is_refused_and_a_small_clock_skew_is_not(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    connect(client, program)
    payload = json.dumps(new_event("invoice.paid", paid_invoice("in_future", "cus_future"))).encode()
    for ahead in (330, 86_400 * 365):  # the exact bound is in test_stripe_rules; a slow run must not cross it
        response = _post_raw(client, program, payload, sign(payload, SECRET, int(time.time()) + ahead))
        assert response.status_code == 400, response.text  # type: ignore[attr-defined]
        assert response.json()["error"] == "InvalidSignature"  # type: ignore[attr-defined]
        assert "future" in response.json()["detail"]  # type: ignore[attr-defined]
    assert _stored(engine) == 0
    skewed = _post_raw(client, program, payload, sign(payload, SECRET, int(time.time()) + 60))
    assert skewed.status_code == 200, skewed.text  # type: ignore[attr-defined]
    assert _stored(engine) == 1


def test_signed_body_that_is_not_an_event_is_400(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    connect(client, program)
    for body in (b"{not json", b"[1, 2]", json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()):
        response = _post_raw(client, program, body, sign(body))
        assert response.status_code == 400
        assert response.json()["error"] == "MalformedEvent"  # type: ignore[attr-defined]
    assert _stored(engine) == 0


def test_program_without_signing_secret_is_400_and_unknown_program_404(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    payload = json.dumps(new_event("invoice.paid", paid_invoice("in_n", "cus_n"))).encode()
    response = _post_raw(client, program, payload, sign(payload))
    assert response.status_code == 400
    assert response.json()["error"] == "StripeNotConfigured"  # type: ignore[attr-defined]
    response = client.post(
        "/integrations/stripe/webhook/01NOSUCHPROGRAM000000000000",
        content=payload,
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 404
    assert _stored(engine) == 0


def test_secret_is_never_echoed_by_the_program(client: TestClient, program: ProgramKeys) -> None:
    connect(client, program, stripe_secret_key="sk_test_hidden")
    body = client.get("/api/v1/program", headers=program.headers).json()
    assert body["stripe_webhook_secret_set"] is True
    assert body["stripe_secret_key_set"] is True
    assert SECRET not in json.dumps(body) and "sk_test_hidden" not in json.dumps(body)


def test_same_event_twice_is_stored_once(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    connect(client, program)
    event = new_event("invoice.paid", paid_invoice("in_twice", "cus_twice"))
    assert post_event(client, program, event).status_code == 200
    assert post_event(client, program, event).status_code == 200
    assert _stored(engine) == 1


def test_unknown_type_is_accepted_and_ignored(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    connect(client, program)
    event = new_event("price.created", {"id": "price_1", "object": "price"})
    row = send(client, program, event, "ignored")
    assert "not one Partnerloop acts on" in row["error"]
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}


def test_test_mode_event_for_live_program_is_ignored(client: TestClient, engine: Engine, program: ProgramKeys) -> None:
    connect(client, program, stripe_test_mode=False)
    row = send(client, program, new_event("invoice.paid", paid_invoice("in_test", "cus_test")), "ignored")
    assert "test-mode" in row["error"]
    assert counts(engine) == {"customers": 0, "events": 0, "commissions": 0}
    live = send(client, program, new_event("invoice.paid", paid_invoice("in_live", "cus_live"), livemode=True))
    assert live["status"] == "processed"
    assert counts(engine)["events"] == 1


def test_answer_does_not_wait_for_processing(engine: Engine, database_url: str, program: ProgramKeys) -> None:
    app = create_app(make_settings(database_url, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as client:
        connect(client, program)
        event = new_event("invoice.paid", paid_invoice("in_later", "cus_later"))
        assert post_event(client, program, event).status_code == 200
        [row] = stored_events(client, program)
        assert row["status"] == "received"
    with transaction(engine, writes=False) as session:
        kinds = list(session.execute(select(Job.kind)).scalars())
    assert kinds == ["stripe.process_event"]
    assert counts(engine)["events"] == 0
