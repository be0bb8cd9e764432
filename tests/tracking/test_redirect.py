"""GET|HEAD /go/{key}: the 302, its cookie, the 404 and 405 pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from partnerloop.app import PartnerloopApp
from partnerloop.models import Click
from tests.conftest import ProgramKeys
from tests.tracking.helpers import make_link, stored_clicks, wait_for_clicks


def test_redirect_adds_the_click_id_and_sets_a_cookie(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, "https://acme.test/pricing?plan=pro&utm_source=blog#compare", key="spring")
    response = client.get("/go/spring", follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://acme.test/pricing?plan=pro&utm_source=blog&pl_cid=")
    assert location.endswith("#compare")
    click_id = location.split("pl_cid=")[1].removesuffix("#compare")
    assert len(click_id) == 64  # signed: click ULID, link id, MAC (tracking/click_ids.py)
    assert click_id[26:52] == link["id"]
    assert click_id == click_id.lower()
    assert response.headers["set-cookie"] == (
        f"pl_cid={click_id}; Max-Age={90 * 86400}; Path=/; SameSite=Lax; HttpOnly"
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.content == b""
    wait_for_clicks(client, program, link["id"], 1)


def test_destination_without_query_gets_one(client: TestClient, program: ProgramKeys) -> None:
    make_link(client, program, "https://shop.acme.test", key="bare")
    location = client.get("/go/bare", follow_redirects=False).headers["location"]
    assert location.startswith("https://shop.acme.test?pl_cid=")


def test_a_pl_cid_already_in_the_destination_is_replaced_not_doubled(client: TestClient, program: ProgramKeys) -> None:
    make_link(client, program, "https://acme.test/?pl_cid=stale&a=1", key="stale")
    location = client.get("/go/stale", follow_redirects=False).headers["location"]
    assert location.count("pl_cid=") == 1
    assert location.startswith("https://acme.test/?a=1&pl_cid=")
    assert "stale" not in location


def test_non_ascii_destination_is_sent_as_a_valid_header(client: TestClient, program: ProgramKeys) -> None:
    make_link(client, program, "https://acme.test/café?q=thé", key="cafe")
    location = client.get("/go/cafe", follow_redirects=False).headers["location"]
    assert location.startswith("https://acme.test/caf%C3%A9?q=th%C3%A9&pl_cid=")


def test_https_requests_get_a_secure_cookie(app: PartnerloopApp, program: ProgramKeys) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        make_link(client, program, key="secure")
        response = client.get("/go/secure", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["set-cookie"].endswith("; HttpOnly; Secure")


def test_head_redirects_and_records_the_click_it_hands_out(client: TestClient, program: ProgramKeys) -> None:
    link = make_link(client, program, key="headed")
    response = client.head("/go/headed", follow_redirects=False)
    assert response.status_code == 302
    assert "pl_cid=" in response.headers["location"]
    assert response.content == b""
    wait_for_clicks(client, program, link["id"], 1)


def test_every_redirect_mints_a_new_click_id(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    link = make_link(client, program, key="many")
    locations = [client.get("/go/many", follow_redirects=False).headers["location"] for _ in range(20)]
    click_ids = [location.split("pl_cid=")[1] for location in locations]
    assert len(set(click_ids)) == 20
    wait_for_clicks(client, program, link["id"], 20)
    assert sorted(click.id for click in stored_clicks(engine, link["id"])) == sorted(click_ids)


@pytest.mark.parametrize("path", ["/go/unknown", "/go/", "/go/spring/extra", "/go/SPRING"])
def test_unknown_key_is_a_404_page_and_records_nothing(
    client: TestClient, program: ProgramKeys, engine: Engine, path: str
) -> None:
    make_link(client, program, key="spring")
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "This link does not exist" in response.text
    assert "location" not in response.headers
    assert client.head(path).status_code == 404
    client.app.runtime.click_buffer.flush_blocking(5)  # type: ignore[attr-defined]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Click)).scalar_one() == 0


def test_other_methods_are_a_405_page(client: TestClient, program: ProgramKeys) -> None:
    make_link(client, program, key="spring")
    for method in ("POST", "PUT", "DELETE"):
        response = client.request(method, "/go/spring", follow_redirects=False)
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert "GET and HEAD" in response.text


@pytest.fixture
def statements_on_the_event_loop(engine: Engine) -> Iterator[list[tuple[str, str]]]:
    """(task name, SQL) executed on a thread that runs an event loop, i.e. while the server waits."""
    seen: list[tuple[str, str]] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        task = asyncio.current_task()
        seen.append((task.get_name() if task is not None else "", statement))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_redirects_and_404s_never_touch_the_database_on_the_event_loop(
    client: TestClient, program: ProgramKeys, statements_on_the_event_loop: list[tuple[str, str]]
) -> None:
    link = make_link(client, program, key="fast")
    statements_on_the_event_loop.clear()
    for index in range(30):
        user_agent = f"Mozilla/5.0 (X11; Linux x86_64) Firefox/{100 + index}.0"  # 30 visitors: uniqueness reads
        response = client.get("/go/fast", headers={"user-agent": user_agent}, follow_redirects=False)
        assert response.status_code == 302
        assert client.get("/go/missing", follow_redirects=False).status_code == 404
    wait_for_clicks(client, program, link["id"], 30)
    # No SQL at all on the loop: the redirects run none, and the clicks are decided and written in a worker
    # thread (inline, as here) or in the writer process.
    assert statements_on_the_event_loop == []
