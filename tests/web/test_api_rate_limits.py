"""API_RATE_LIMIT: each secret API key has its own count; over it, 429 in the error shape with Retry-After.
The redirect and the publishable-key endpoints are not counted. With REDIS_URL every process shares the counts."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import create_app
from partnerloop.db import transaction
from partnerloop.models import Program
from partnerloop.program.service import issue_api_key
from tests.conftest import ProgramKeys, make_settings
from tests.tracking.helpers import make_link

LIMIT = "3/hour"  # an hour, not a minute: the sliding window's approximation at a window's end stays far away


def second_key(engine: Engine, program: ProgramKeys) -> dict[str, str]:
    """Another secret key of the same program, as headers."""
    with transaction(engine) as session:
        found = session.get(Program, program.id)
        assert found is not None
        return {"Authorization": f"Bearer {issue_api_key(session, found, 'second')}"}


def test_a_key_over_its_limit_gets_429_with_retry_after_and_another_key_does_not(
    engine: Engine, database_url: str, program: ProgramKeys
) -> None:
    other = second_key(engine, program)
    with TestClient(create_app(make_settings(database_url, api_rate_limit=LIMIT))) as client:
        for _ in range(3):
            assert client.get("/api/v1/program", headers=program.headers).status_code == 200
        over = client.get("/api/v1/program", headers=program.headers)
        assert over.status_code == 429
        assert over.json() == {
            "error": "RateLimited",
            "detail": f"This API key is over its limit of 3/hour; retry in {over.headers['retry-after']} s.",
        }
        assert 1 <= int(over.headers["retry-after"]) <= 3600
        assert over.headers["content-type"] == "application/json"
        refused = client.post("/api/v1/partners", json={"email": "late@example.com", "name": "Late"},
                              headers=program.headers)  # fmt: skip
        assert refused.status_code == 429  # a write over the limit writes nothing:
        assert client.get("/api/v1/program", headers=other).status_code == 200  # the other key is not limited
        assert client.get("/api/v1/partners", headers=other).json()["data"] == []


def test_conversion_tracking_counts_against_the_same_limit(
    engine: Engine, database_url: str, program: ProgramKeys
) -> None:
    """track/lead|sale|refund authenticate the key themselves (outside the request's transaction)."""
    other = second_key(engine, program)
    with TestClient(create_app(make_settings(database_url, api_rate_limit=LIMIT))) as client:
        for number in range(3):
            sale = {"customer_external_id": "cus_1", "amount": 4900, "currency": "usd", "invoice_id": f"in_{number}"}
            tracked = client.post("/api/v1/track/sale", json=sale, headers=program.headers)
            assert tracked.status_code == 200, tracked.text
        sale = {"customer_external_id": "cus_1", "amount": 4900, "currency": "usd", "invoice_id": "in_3"}
        over = client.post("/api/v1/track/sale", json=sale, headers=program.headers)
        assert over.status_code == 429 and over.json()["error"] == "RateLimited"
        assert int(over.headers["retry-after"]) >= 1
        assert client.get("/api/v1/program", headers=program.headers).status_code == 429  # one count per key
        assert client.post("/api/v1/track/sale", json=sale, headers=other).status_code == 200


def test_a_rate_limited_post_is_not_kept_for_its_idempotency_key(
    engine: Engine, database_url: str, program: ProgramKeys
) -> None:
    other = second_key(engine, program)
    body = {"email": "pat@example.com", "name": "Pat"}
    with TestClient(create_app(make_settings(database_url, api_rate_limit=LIMIT))) as client:
        for _ in range(3):
            assert client.get("/api/v1/program", headers=program.headers).status_code == 200
        limited = client.post("/api/v1/partners", json=body, headers={**program.headers, "Idempotency-Key": "k1"})
        assert limited.status_code == 429
        # Idempotency keys belong to the program: the same request with its other key runs, no 429 replayed.
        ran = client.post("/api/v1/partners", json=body, headers={**other, "Idempotency-Key": "k1"})
        assert ran.status_code == 201 and "idempotent-replayed" not in ran.headers


def test_the_redirect_and_the_publishable_key_endpoints_are_not_counted(
    engine: Engine, database_url: str, program: ProgramKeys
) -> None:
    with TestClient(create_app(make_settings(database_url, api_rate_limit="2/hour"))) as client:
        make_link(client, program, key="spring")  # the key's two requests: a partner, then its link
        assert client.get("/api/v1/program", headers=program.headers).status_code == 429
        for _ in range(10):
            assert client.get("/go/spring", follow_redirects=False).status_code == 302
            click = {"key": program.publishable_key, "ref": "spring", "url": "https://www.acme.test/?ref=spring"}
            answer = client.post("/api/v1/track/click", content=json.dumps(click).encode(),
                                 headers={"content-type": "text/plain", "origin": "https://www.acme.test"})  # fmt: skip
            assert answer.status_code == 200, answer.text


def test_with_redis_two_app_processes_share_a_keys_count(
    engine: Engine, database_url: str, program: ProgramKeys, redis_url: str, redis_prefix: str
) -> None:
    other = second_key(engine, program)
    settings = make_settings(
        database_url, api_rate_limit=LIMIT, redis_url=redis_url, rate_limit_key_prefix=redis_prefix
    )
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        assert first.get("/api/v1/program", headers=program.headers).status_code == 200
        assert second.get("/api/v1/program", headers=program.headers).status_code == 200
        assert first.get("/api/v1/program", headers=program.headers).status_code == 200
        for server in (first, second):
            over = server.get("/api/v1/program", headers=program.headers)
            assert over.status_code == 429 and over.json()["error"] == "RateLimited"
            assert int(over.headers["retry-after"]) >= 1
        assert second.get("/api/v1/program", headers=other).status_code == 200
