"""Idempotency-Key on POSTs, through the real app (and a real `partnerloop serve` for concurrency)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from partnerloop.db import transaction
from partnerloop.jobs.idempotency import IdempotencyMiddleware
from partnerloop.jobs.rules import request_fingerprint
from partnerloop.kit.time import utc_now
from partnerloop.models import IdempotencyKey, Link, Partner
from tests.conftest import ProgramKeys
from tests.jobs.processes import serve_process

PARTNER = {"email": "jane@example.com", "name": "Jane"}


def _count(engine: Engine, model: Any) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _post(client: TestClient, program: ProgramKeys, path: str, body: dict[str, Any], key: str | None) -> httpx.Response:
    headers = {**program.headers, **({"Idempotency-Key": key} if key is not None else {})}
    response: httpx.Response = client.post(path, json=body, headers=headers)
    return response


def test_the_same_key_and_body_replay_the_first_response_and_create_one_partner(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    first = _post(client, program, "/api/v1/partners", PARTNER, "create-jane")
    second = _post(client, program, "/api/v1/partners", PARTNER, "create-jane")
    assert first.status_code == 201, first.text
    assert (second.status_code, second.json()) == (201, first.json())
    assert second.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert _count(engine, Partner) == 1
    listed = client.get("/api/v1/partners", headers=program.headers).json()["data"]
    assert [partner["id"] for partner in listed] == [first.json()["id"]]


def test_the_same_key_with_another_body_is_409_and_changes_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    assert _post(client, program, "/api/v1/partners", PARTNER, "k1").status_code == 201
    other = _post(client, program, "/api/v1/partners", {"email": "max@example.com", "name": "Max"}, "k1")
    assert other.status_code == 409
    assert other.json()["error"] == "IdempotencyKeyReused"
    assert set(other.json()) == {"error", "detail"}
    assert _count(engine, Partner) == 1
    # the same body on another endpoint is another request too
    elsewhere = client.post("/api/v1/partners/nope/approve", headers={**program.headers, "Idempotency-Key": "k1"})
    assert elsewhere.status_code == 409
    assert elsewhere.json()["error"] == "IdempotencyKeyReused"


def test_without_a_key_the_same_post_twice_creates_two_links_and_with_one_a_single_link(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    partner_id = _post(client, program, "/api/v1/partners", PARTNER, None).json()["id"]
    link = {"partner_id": partner_id, "destination_url": "https://acme.test/pricing"}
    unkeyed = [_post(client, program, "/api/v1/links", link, None) for _ in range(2)]
    assert [response.status_code for response in unkeyed] == [201, 201]
    assert unkeyed[0].json()["id"] != unkeyed[1].json()["id"]
    assert _count(engine, Link) == 2
    keyed = [_post(client, program, "/api/v1/links", link, "link-once") for _ in range(3)]
    assert {response.json()["id"] for response in keyed} == {keyed[0].json()["id"]}
    assert _count(engine, Link) == 3


def test_a_4xx_answer_is_replayed_too(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    assert _post(client, program, "/api/v1/partners", PARTNER, None).status_code == 201
    first = _post(client, program, "/api/v1/partners", PARTNER, "dup")
    second = _post(client, program, "/api/v1/partners", PARTNER, "dup")
    assert first.status_code == 409
    assert first.json()["error"] == "PartnerExists"
    assert (second.status_code, second.json(), second.headers["idempotent-replayed"]) == (409, first.json(), "true")


def test_different_programs_may_use_the_same_key(
    client: TestClient, program: ProgramKeys, other_program: ProgramKeys, engine: Engine
) -> None:
    mine = _post(client, program, "/api/v1/partners", PARTNER, "shared-key")
    theirs = _post(client, other_program, "/api/v1/partners", PARTNER, "shared-key")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert _count(engine, Partner) == 2


def test_a_key_over_255_characters_is_400(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    too_long = _post(client, program, "/api/v1/partners", PARTNER, "k" * 256)
    assert too_long.status_code == 400
    assert too_long.json()["error"] == "InvalidIdempotencyKey"
    assert set(too_long.json()) == {"error", "detail"}
    assert _count(engine, Partner) == 0
    assert _post(client, program, "/api/v1/partners", PARTNER, "k" * 255).status_code == 201


def test_a_wrong_api_key_with_an_idempotency_key_is_401(client: TestClient, engine: Engine) -> None:
    response = client.post(
        "/api/v1/partners", json=PARTNER, headers={"Authorization": "Bearer pl_sk_wrong", "Idempotency-Key": "k"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert _count(engine, IdempotencyKey) == 0


class _Recorder:
    """A small ASGI app behind the real middleware: counts calls, can fail, crash or be slow."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_next = 0
        self.crash_next = 0
        self.delay = 0.0

    async def endpoint(self, request: Request) -> Response:
        self.calls += 1
        body = await request.json()
        if self.delay:
            await anyio.sleep(self.delay)
        if self.crash_next:
            self.crash_next -= 1
            raise RuntimeError("crashed")
        if self.fail_next:
            self.fail_next -= 1
            return JSONResponse({"error": "Unavailable", "detail": "try again"}, status_code=503)
        return JSONResponse({"call": self.calls, "echo": body}, status_code=201)


@pytest.fixture
def recorder() -> _Recorder:
    return _Recorder()


@pytest.fixture
def recorded_client(engine: Engine, recorder: _Recorder) -> Iterator[TestClient]:
    inner = Starlette(routes=[Route("/api/v1/things", recorder.endpoint, methods=["POST"])])
    with TestClient(IdempotencyMiddleware(inner, engine, wait_seconds=0.5), raise_server_exceptions=False) as client:
        yield client


def _thing(client: TestClient, program: ProgramKeys, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    headers = {**program.headers, "Idempotency-Key": key}
    response: httpx.Response = client.post("/api/v1/things", json=body or {"n": 1}, headers=headers)
    return response


def test_a_5xx_answer_is_not_stored_so_a_retry_runs_again(
    recorded_client: TestClient, recorder: _Recorder, program: ProgramKeys
) -> None:
    recorder.fail_next = 1
    assert _thing(recorded_client, program, "k").status_code == 503
    retried = _thing(recorded_client, program, "k")
    assert (retried.status_code, retried.json()) == (201, {"call": 2, "echo": {"n": 1}})
    assert _thing(recorded_client, program, "k").json() == {"call": 2, "echo": {"n": 1}}
    assert recorder.calls == 2


def test_a_crashed_request_forgets_its_key(
    recorded_client: TestClient, recorder: _Recorder, program: ProgramKeys, engine: Engine
) -> None:
    recorder.crash_next = 1
    assert _thing(recorded_client, program, "k").status_code == 500
    assert _count(engine, IdempotencyKey) == 0
    assert _thing(recorded_client, program, "k").status_code == 201
    assert recorder.calls == 2


def test_a_request_arriving_while_the_first_runs_waits_and_replays_it(
    recorded_client: TestClient, recorder: _Recorder, program: ProgramKeys
) -> None:
    recorder.delay = 0.2
    answers: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(_thing(recorded_client, program, "k"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert recorder.calls == 1
    assert [(answer.status_code, answer.json()) for answer in answers] == [(201, {"call": 1, "echo": {"n": 1}})] * 4
    assert sum(answer.headers.get("idempotent-replayed") == "true" for answer in answers) == 3


def test_a_request_still_running_after_the_wait_is_409_in_progress(
    recorded_client: TestClient, recorder: _Recorder, program: ProgramKeys
) -> None:
    recorder.delay = 1.5  # longer than this middleware's 0.5 s wait
    first: list[httpx.Response] = []
    running = threading.Thread(target=lambda: first.append(_thing(recorded_client, program, "k")))
    running.start()
    deadline = time.monotonic() + 5
    while recorder.calls == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    waiting = _thing(recorded_client, program, "k")
    assert waiting.status_code == 409
    assert waiting.json()["error"] == "IdempotencyKeyInProgress"
    running.join(timeout=10)
    assert first[0].status_code == 201
    assert _thing(recorded_client, program, "k").json() == first[0].json()
    assert recorder.calls == 1


def test_a_key_abandoned_in_progress_or_older_than_a_day_runs_the_request_again(
    recorded_client: TestClient, recorder: _Recorder, program: ProgramKeys, engine: Engine
) -> None:
    body = b'{"n":1}'
    now = utc_now()
    with transaction(engine) as session:
        # a process was killed two minutes ago while running this very request
        session.add(
            IdempotencyKey(
                program_id=program.id,
                key="abandoned",
                created_at=now - timedelta(minutes=2),
                request_hash=request_fingerprint("POST", "/api/v1/things", b"", body),
            )
        )
        session.add(
            IdempotencyKey(
                program_id=program.id,
                key="yesterday",
                request_hash="another body",
                status_code=201,
                response_body="{}",
                created_at=now - timedelta(hours=25),
            )
        )

    def post(key: str) -> httpx.Response:
        headers = {**program.headers, "Idempotency-Key": key, "Content-Type": "application/json"}
        response: httpx.Response = recorded_client.post("/api/v1/things", content=body, headers=headers)
        return response

    abandoned = post("abandoned")
    assert (abandoned.status_code, abandoned.json()["call"]) == (201, 1)
    # another body under this key would be IdempotencyKeyReused within 24 hours
    yesterday = post("yesterday")
    assert (yesterday.status_code, yesterday.json()["call"]) == (201, 2)
    assert post("yesterday").headers["idempotent-replayed"] == "true"
    assert post("abandoned").json() == abandoned.json()
    assert recorder.calls == 2


@pytest.mark.slow
def test_concurrent_posts_with_one_key_to_a_real_server_create_one_partner(
    database_url: str, engine: Engine, program: ProgramKeys
) -> None:
    with serve_process(database_url) as base_url:
        start = threading.Barrier(12)
        answers: list[httpx.Response] = []

        def post() -> None:
            start.wait()
            answers.append(
                httpx.post(
                    f"{base_url}/api/v1/partners",
                    json=PARTNER,
                    timeout=20,
                    headers={**program.headers, "Idempotency-Key": "concurrent"},
                )
            )

        threads = [threading.Thread(target=post) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert len(answers) == 12
    assert {(answer.status_code, answer.text) for answer in answers} == {(201, answers[0].text)}
    assert _count(engine, Partner) == 1
