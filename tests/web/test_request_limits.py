"""Request bodies: a size limit read before authentication (413 in the error shape), NUL characters refused
on both databases (PostgreSQL text cannot hold them), `null` refused where a value is required."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from partnerloop.web.request_limits import API_LIMIT, has_escaped_nul
from tests.conftest import ProgramKeys


def _partners(client: TestClient, program: ProgramKeys) -> int:
    return len(client.get("/api/v1/partners?limit=100", headers=program.headers).json()["data"])


def test_a_body_over_the_limit_is_413_before_authentication(client: TestClient, program: ProgramKeys) -> None:
    body = b'{"email": "a@b.test", "name": "' + b"x" * API_LIMIT + b'"}'
    no_key = client.post("/api/v1/partners", content=body, headers={"content-type": "application/json"})
    assert no_key.status_code == 413, no_key.text  # not 401: the body is refused before anyone is asked who sent it
    assert no_key.json() == {"error": "PayloadTooLarge", "detail": "The request body is over 1 MB."}
    with_key = client.post(
        "/api/v1/partners", content=body, headers={**program.headers, "content-type": "application/json"}
    )
    assert with_key.status_code == 413
    assert _partners(client, program) == 0


def test_a_chunked_body_without_a_length_is_cut_at_the_limit(client: TestClient, program: ProgramKeys) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"email": "a@b.test", "name": "'
        for _ in range(40):
            yield b"x" * 65_536
        yield b'"}'

    answer = client.post(
        "/api/v1/partners", content=chunks(), headers={**program.headers, "content-type": "application/json"}
    )
    assert answer.status_code == 413
    assert _partners(client, program) == 0


def test_a_body_under_the_limit_goes_through(client: TestClient, program: ProgramKeys) -> None:
    answer = client.post("/api/v1/partners", json={"email": "a@b.test", "name": "Ada"}, headers=program.headers)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "name",
    [pytest.param("x\x00y", id="a NUL in the middle"), pytest.param("\x00", id="only a NUL")],
)
def test_text_with_a_nul_is_422_and_stores_nothing(client: TestClient, program: ProgramKeys, name: str) -> None:
    answer = client.post("/api/v1/partners", json={"email": "a@b.test", "name": name}, headers=program.headers)
    assert answer.status_code == 422
    assert answer.json() == {"error": "InvalidInput", "detail": "Text must not contain NUL characters (\\u0000)."}
    assert _partners(client, program) == 0


@pytest.mark.parametrize(
    ("body", "nul"),
    [
        pytest.param(rb'{"a": "x\u0000"}', True, id="an escape"),
        pytest.param(rb'{"a": "x\\u0000"}', False, id="an escaped backslash before u0000 is text"),
        pytest.param(rb'{"a": "x\\\u0000"}', True, id="an escaped backslash, then an escape"),
        pytest.param(b'{"a": "\x00"}', True, id="a raw NUL byte"),
        pytest.param(rb'{"a": "u0000"}', False, id="the letters alone"),
    ],
)
def test_has_escaped_nul(body: bytes, nul: bool) -> None:
    assert has_escaped_nul(body) is nul


@pytest.mark.parametrize("field", ["allowed_domains", "link_params", "cookie_days", "attribution_model", "name"])
def test_null_for_a_setting_that_needs_a_value_is_422_and_changes_nothing(
    client: TestClient, program: ProgramKeys, field: str
) -> None:
    before = client.get("/api/v1/program", headers=program.headers).json()
    answer = client.patch("/api/v1/program", json={field: None}, headers=program.headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"]
    assert client.get("/api/v1/program", headers=program.headers).json() == before
