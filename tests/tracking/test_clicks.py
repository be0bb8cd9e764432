"""Clicks are recorded with their facts and rollups, in batches, and none is lost: not when a write fails,
not when the buffer is full, not at shutdown."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, text

from partnerloop.app import PartnerloopApp, create_app
from partnerloop.models import Link
from tests.conftest import ProgramKeys, make_settings
from tests.tracking.helpers import (
    CHROME_ON_WINDOWS,
    GOOGLEBOT,
    SAFARI_ON_IPHONE,
    api_clicks,
    eventually,
    make_link,
    rollup_totals,
    stored_clicks,
    wait_for_clicks,
)


def test_a_click_is_recorded_with_its_facts(app: PartnerloopApp, program: ProgramKeys, engine: Engine) -> None:
    with TestClient(app, client=("203.0.113.77", 51000)) as client:
        link = make_link(client, program, key="facts")
        before = datetime.now(UTC)
        response = client.get("/go/facts", follow_redirects=False, headers={
            "user-agent": CHROME_ON_WINDOWS, "referer": "https://blog.example/post?id=1", "cf-ipcountry": "DE",
        })  # fmt: skip
        wait_for_clicks(client, program, link["id"], 1)
    [click] = stored_clicks(engine, link["id"])
    assert response.headers["location"].endswith(f"pl_cid={click.id}")
    assert click.program_id == program.id
    assert click.partner_id == link["partner_id"]
    assert before - timedelta(seconds=1) <= click.created_at <= datetime.now(UTC)
    assert click.ip_truncated == "203.0.113.0"
    assert (click.browser, click.os, click.device, click.is_bot) == ("Chrome", "Windows", "desktop", False)
    assert click.user_agent == CHROME_ON_WINDOWS
    assert click.referrer == "https://blog.example/post?id=1"
    assert click.country == "de"


def test_ipv6_addresses_keep_only_their_48_bit_prefix(
    app: PartnerloopApp, program: ProgramKeys, engine: Engine
) -> None:
    with TestClient(app, client=("2001:db8:abcd:12:34:56:78:9a", 51000)) as client:
        link = make_link(client, program, key="six")
        client.get("/go/six", follow_redirects=False, headers={"user-agent": SAFARI_ON_IPHONE})
        wait_for_clicks(client, program, link["id"], 1)
    [click] = stored_clicks(engine, link["id"])
    assert click.ip_truncated == "2001:db8:abcd::"
    assert (click.browser, click.os, click.device) == ("Mobile Safari", "iOS", "mobile")
    assert click.country is None and click.referrer is None


def test_long_headers_are_cut_to_the_columns(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    link = make_link(client, program, key="long")
    client.get("/go/long", follow_redirects=False,
               headers={"user-agent": CHROME_ON_WINDOWS + "x" * 3000, "referer": "https://r.example/" + "y" * 5000})  # fmt: skip
    wait_for_clicks(client, program, link["id"], 1)
    [click] = stored_clicks(engine, link["id"])
    assert click.user_agent is not None and len(click.user_agent) == 1000
    assert click.referrer is not None and len(click.referrer) == 2000


def test_bots_are_flagged_and_counted_apart_in_the_rollup(
    client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    link = make_link(client, program, key="bots")
    agents = [CHROME_ON_WINDOWS, GOOGLEBOT, "curl/8.5.0", SAFARI_ON_IPHONE, "python-requests/2.32", ""]
    for agent in agents:
        client.get("/go/bots", follow_redirects=False, headers={"user-agent": agent})
    wait_for_clicks(client, program, link["id"], len(agents))
    flags = {click.user_agent or "": (click.is_bot, click.device) for click in stored_clicks(engine, link["id"])}
    assert flags == {
        CHROME_ON_WINDOWS: (False, "desktop"),
        GOOGLEBOT: (True, "bot"),
        "curl/8.5.0": (False, "tool"),
        SAFARI_ON_IPHONE: (False, "mobile"),
        "python-requests/2.32": (False, "tool"),
        "": (True, "bot"),
    }
    assert rollup_totals(engine, link["id"]) == (6, 2)


def test_rollups_add_up_across_batches_and_links(client: TestClient, program: ProgramKeys, engine: Engine) -> None:
    first = make_link(client, program, key="first")
    second = make_link(client, program, key="second", partner_id=first["partner_id"])
    for round_ in range(3):
        for _ in range(4):
            client.get("/go/first", follow_redirects=False)
        client.get("/go/second", follow_redirects=False)
        wait_for_clicks(client, program, first["id"], 4 * (round_ + 1))
    wait_for_clicks(client, program, second["id"], 3)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT link_id, clicks FROM click_rollups ORDER BY clicks")).all()
    assert [(row[0], row[1]) for row in rows] == [(second["id"], 3), (first["id"], 12)]  # one row per link and day


@contextmanager
def clicks_table_away(engine: Engine) -> Iterator[None]:
    """The clicks table renamed, as a migration gone wrong or a locked table would make writes fail."""
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE clicks RENAME TO clicks_away"))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE clicks_away RENAME TO clicks"))


@pytest.fixture(params=["inline", "process"])
def each_writer_client(request: pytest.FixtureRequest, database_url: str) -> Iterator[TestClient]:
    """A client of an app whose clicks are written inline, then of one with the writer process."""
    with TestClient(create_app(make_settings(database_url, click_writer=request.param))) as client:
        yield client


def test_a_failed_write_keeps_the_batch_and_retries_until_it_lands(
    each_writer_client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    client = each_writer_client
    link = make_link(client, program, key="retry")
    buffer = client.app.runtime.click_buffer  # type: ignore[attr-defined]
    with clicks_table_away(engine):
        for _ in range(25):
            assert client.get("/go/retry", follow_redirects=False).status_code == 302
        time.sleep(0.5)  # several flush attempts fail meanwhile
        assert buffer.pending == 25
        assert api_clicks(client, program, link["id"]) == 0  # the rollups went back with the failed clicks
        answer = client.get("/healthz")
        assert answer.status_code == 503  # writes fail: the clicks wait, and /healthz says why
        health = answer.json()
        assert health["error"] == "DatabaseUnavailable" and health["detail"].startswith("Writing clicks fails since")
        writer = "inline" if buffer.process is None else "process"
        assert health["clicks"]["pending"] == 25 and health["clicks"]["writer"] == writer
        assert health["clicks"]["failing_since"] is not None and "clicks" in health["clicks"]["last_error"]
    wait_for_clicks(client, program, link["id"], 25)
    assert len(stored_clicks(engine, link["id"])) == 25
    assert rollup_totals(engine, link["id"]) == (25, 0)
    assert buffer.pending == 0
    assert client.get("/healthz").json()["clicks"] == {
        "writer": writer, "pending": 0, "unwritable": 0, "shed": 0, "lost": 0, "failing_since": None,
        "last_error": None,
    }  # fmt: skip


def test_a_click_that_can_never_be_written_is_set_aside_without_blocking_the_others(
    each_writer_client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    client = each_writer_client
    good = make_link(client, program, key="good")
    doomed = make_link(client, program, key="doomed", partner_id=good["partner_id"])
    with engine.begin() as connection:  # gone from the database behind the cache's back: its clicks break the FK
        connection.execute(delete(Link).where(Link.id == doomed["id"]))
    for key in ("good", "good", "doomed", "good", "good", "good"):
        assert client.get(f"/go/{key}", follow_redirects=False).status_code == 302
    wait_for_clicks(client, program, good["id"], 5)
    buffer = client.app.runtime.click_buffer  # type: ignore[attr-defined]
    eventually(lambda: buffer.pending == 0)
    assert [click[1].key for click in buffer.unwritable] == ["doomed"]


def test_a_full_buffer_sheds_clicks_to_the_spill_file_and_replays_them_once_writes_succeed(
    program: ProgramKeys, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, click_batch_size=5, click_buffer_max=10, click_spill_dir=str(tmp_path))
    app = create_app(settings)

    with TestClient(app) as client:
        link = make_link(client, program, key="pressure")
        buffer = app.runtime.click_buffer
        with clicks_table_away(engine):
            started = time.monotonic()
            answered = [client.get("/go/pressure", follow_redirects=False) for _ in range(16)]
            assert time.monotonic() - started < 2  # nobody waits for the database
            assert [response.status_code for response in answered] == [302] * 16
            assert buffer.pending == 10
            eventually(lambda: buffer.counts().spilled == 6)
            [spill_file] = tmp_path.glob("clicks-*.jsonl")
            spilled_ids = [json.loads(line)["id"] for line in spill_file.read_text().splitlines()]
            sent_ids = [response.headers["location"].split("pl_cid=")[1] for response in answered]
            assert spilled_ids == sent_ids[10:]  # the clicks beyond the buffer, in order
            health = client.get("/healthz")
            assert health.status_code == 503
            assert health.json()["error"] == "DatabaseUnavailable"
            assert "Writing clicks fails" in health.json()["detail"]
            assert health.json()["clicks"]["shed"] == 6
        wait_for_clicks(client, program, link["id"], 16)
        eventually(lambda: not list(tmp_path.glob("clicks-*.jsonl")))  # replayed, then deleted
        counts = buffer.counts()
        assert (counts.accepted, counts.written, counts.shed, counts.spilled, counts.replayed, counts.lost) == (
            16, 10, 6, 6, 6, 0,
        )  # fmt: skip
        assert client.get("/healthz").status_code == 200
    assert sorted(click.id for click in stored_clicks(engine, link["id"])) == sorted(sent_ids)
    assert rollup_totals(engine, link["id"]) == (16, 0)


def test_flush_blocking_writes_a_click_now(program: ProgramKeys, engine: Engine, database_url: str) -> None:
    app = create_app(make_settings(database_url, click_flush_interval_ms=60_000, click_batch_size=10_000))
    with TestClient(app) as client:
        link = make_link(client, program, key="now")
        client.get("/go/now", follow_redirects=False)
        assert stored_clicks(engine, link["id"]) == []  # the next timed flush is a minute away
        assert app.runtime.click_buffer.flush_blocking(5) is True
        assert len(stored_clicks(engine, link["id"])) == 1
        assert api_clicks(client, program, link["id"]) == 1


def test_shutdown_writes_every_pending_click(program: ProgramKeys, engine: Engine, database_url: str) -> None:
    app = create_app(make_settings(database_url, click_flush_interval_ms=60_000, click_batch_size=10_000))
    with TestClient(app) as client:
        link = make_link(client, program, key="drain")
        for _ in range(40):
            client.get("/go/drain", follow_redirects=False)
        assert stored_clicks(engine, link["id"]) == []
    assert len(stored_clicks(engine, link["id"])) == 40  # the lifespan's shutdown drained the buffer
    assert rollup_totals(engine, link["id"]) == (40, 0)


def test_many_concurrent_redirects_are_all_recorded_once(
    app: PartnerloopApp, program: ProgramKeys, engine: Engine
) -> None:
    import asyncio

    async def burst(link_key: str, count: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            responses = await asyncio.gather(*(http.get(f"/go/{link_key}") for _ in range(count)))
        return [response.status_code for response in responses]

    with TestClient(app) as client:
        link = make_link(client, program, key="burst")
        statuses = client.portal.call(burst, "burst", 1500)  # type: ignore[union-attr]
        assert statuses == [302] * 1500
        wait_for_clicks(client, program, link["id"], 1500)
    assert len({click.id for click in stored_clicks(engine, link["id"])}) == 1500
