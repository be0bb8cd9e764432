"""The click writer process (click_writer="process", what `serve` runs): clicks land with their facts,
uniqueness and rollups; failures are retried or set aside as in this process (test_clicks.py runs those
tests with each writer); a writer that dies is replaced without losing or doubling a click; shutdown
drains through it and stops it."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from partnerloop.app import PartnerloopApp, create_app
from partnerloop.config import Settings
from partnerloop.models import Link
from partnerloop.tracking.batch import ClickWriteFailed
from partnerloop.tracking.cache import LinkCache, LinkTarget
from partnerloop.tracking.click_writer import ClickWriterProcess, portable
from tests.conftest import ProgramKeys, make_settings
from tests.tracking.helpers import (
    CHROME_ON_WINDOWS,
    GOOGLEBOT,
    eventually,
    make_link,
    rollup_totals,
    stored_clicks,
    wait_for_clicks,
)
from tests.tracking.test_clicks import clicks_table_away

T = TypeVar("T")
HOUR_LATER = 60_000  # ms: no timed flush during a test; flush_blocking() or shutdown writes


def writer_app(database_url: str, **overrides: object) -> PartnerloopApp:
    return create_app(make_settings(database_url, click_writer="process", **overrides))


def in_own_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a new event loop of a thread of its own (an earlier test's loop may still be
    running in this thread: browser tests leave Playwright's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


def target_of(engine: Engine, settings: Settings, key: str) -> LinkTarget:
    cache = LinkCache(engine, settings)
    cache.reload_key(key)
    target = cache.get(key)
    assert target is not None
    return target


def writer_of(app: PartnerloopApp) -> ClickWriterProcess:
    process = app.runtime.click_buffer.process
    assert process is not None
    return process


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not alive
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def writer_client(database_url: str) -> Iterator[TestClient]:
    with TestClient(writer_app(database_url), client=("203.0.113.77", 51000)) as client:
        yield client


def test_the_writer_process_records_clicks_with_their_facts_uniqueness_and_rollups(
    writer_client: TestClient, program: ProgramKeys, engine: Engine
) -> None:
    client = writer_client
    link = make_link(client, program, key="facts")
    headers = {"user-agent": CHROME_ON_WINDOWS, "referer": "https://blog.example/post", "cf-ipcountry": "DE"}
    first = client.get("/go/facts", follow_redirects=False, headers=headers)
    wait_for_clicks(client, program, link["id"], 1)  # a batch of its own: the next one remembers it
    client.get("/go/facts", follow_redirects=False, headers=headers)
    client.get("/go/facts", follow_redirects=False, headers={"user-agent": GOOGLEBOT})
    wait_for_clicks(client, program, link["id"], 3)
    clicks = stored_clicks(engine, link["id"])
    assert first.headers["location"].endswith(f"pl_cid={clicks[0].id}")
    chrome = clicks[0]
    assert (chrome.program_id, chrome.partner_id) == (program.id, link["partner_id"])
    assert (chrome.ip_truncated, chrome.browser, chrome.os, chrome.device) == ("203.0.113.0", "Chrome", "Windows",
                                                                               "desktop")  # fmt: skip
    assert (chrome.referrer, chrome.country, chrome.user_agent) == (
        "https://blog.example/post",
        "de",
        CHROME_ON_WINDOWS,
    )
    assert [(click.is_unique, click.is_bot) for click in clicks] == [(True, False), (False, False), (False, True)]
    assert rollup_totals(engine, link["id"]) == (3, 1)
    assert writer_of(client.app).starts == 1  # type: ignore[arg-type]


def test_a_killed_writer_is_replaced_and_no_click_is_lost_or_written_twice(
    program: ProgramKeys, engine: Engine, database_url: str
) -> None:
    app = writer_app(database_url, click_flush_interval_ms=HOUR_LATER, click_batch_size=10_000)
    with TestClient(app) as client:
        link = make_link(client, program, key="phoenix")
        for _ in range(30):
            client.get("/go/phoenix", follow_redirects=False)
        assert app.runtime.click_buffer.flush_blocking(10) is True
        process = writer_of(app)
        first_pid = process.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        eventually(lambda: not alive(first_pid))
        for _ in range(20):
            client.get("/go/phoenix", follow_redirects=False)
        assert app.runtime.click_buffer.flush_blocking(10) is True
        assert process.starts == 2 and process.pid not in (None, first_pid)
        assert len(stored_clicks(engine, link["id"])) == 50
        assert rollup_totals(engine, link["id"]) == (50, 0)


def test_a_batch_sent_again_after_an_unknown_outcome_is_not_written_twice(
    program: ProgramKeys, engine: Engine, database_url: str
) -> None:
    """The writer died after its commit and before its answer: the retry (skip_stored) writes nothing twice."""
    settings: Settings = make_settings(database_url, click_writer="process")
    with TestClient(create_app(settings)) as client:
        link = make_link(client, program, key="twice")
        target = target_of(engine, settings, "twice")
        chrome = CHROME_ON_WINDOWS.encode()
        batch = [(f"01jd{index:022d}".encode(), target, time.time(), "198.51.100.9", chrome, b"", b"")
                 for index in range(4)]  # fmt: skip

        async def write_twice() -> tuple[int, int, int]:
            process = ClickWriterProcess(settings)
            await process.start()
            try:
                first = await process.write(batch, skip_stored=False)
                again = await process.write(batch, skip_stored=True)
                more = await process.write([*batch, (b"01jd" + b"9" * 22, target, time.time(), None, chrome, b"", b"")],
                                           skip_stored=True)  # fmt: skip
            finally:
                await process.stop()
            return first, again, more

        assert in_own_loop(write_twice()) == (4, 0, 1)
    assert len(stored_clicks(engine, link["id"])) == 5
    assert rollup_totals(engine, link["id"]) == (5, 0)


def test_a_row_error_and_a_passing_failure_come_back_from_the_writer_as_such(
    program: ProgramKeys, engine: Engine, database_url: str
) -> None:
    settings: Settings = make_settings(database_url, click_writer="process")
    with TestClient(create_app(settings)) as client:
        make_link(client, program, key="kinds")
        target = target_of(engine, settings, "kinds")
    with engine.begin() as connection:
        connection.execute(delete(Link).where(Link.id == target.link_id))
    click = (b"01jd" + b"7" * 22, target, time.time(), None, b"", b"", b"")

    async def failures() -> list[bool]:
        process = ClickWriterProcess(settings)
        await process.start()
        kinds = []
        try:
            for trouble in ("foreign key", "table away"):
                try:
                    if trouble == "table away":
                        with clicks_table_away(engine):
                            await process.write([click], skip_stored=False)
                    else:
                        await process.write([click], skip_stored=False)
                except ClickWriteFailed as error:
                    kinds.append(error.row_error)
        finally:
            await process.stop()
        return kinds

    assert in_own_loop(failures()) == [True, False]


def test_the_writer_ignores_ctrl_c_and_stops_when_the_server_shuts_down(
    program: ProgramKeys, engine: Engine, database_url: str
) -> None:
    app = writer_app(database_url, click_flush_interval_ms=HOUR_LATER, click_batch_size=10_000)
    with TestClient(app) as client:
        link = make_link(client, program, key="drain")
        pid = writer_of(app).pid
        assert pid is not None
        os.kill(pid, signal.SIGINT)  # what Ctrl-C in a terminal sends the whole process group
        for _ in range(40):
            client.get("/go/drain", follow_redirects=False)
        time.sleep(0.2)
        assert alive(pid)
        assert stored_clicks(engine, link["id"]) == []
    # The lifespan's shutdown drained the buffer through the same writer, then stopped it.
    assert len(stored_clicks(engine, link["id"])) == 40
    assert rollup_totals(engine, link["id"]) == (40, 0)
    assert writer_of(app).starts == 1
    assert not alive(pid)


def test_portable_sends_each_links_ids_once(program: ProgramKeys, engine: Engine, database_url: str) -> None:
    settings = make_settings(database_url)
    with TestClient(create_app(settings)) as client:
        make_link(client, program, key="one")
        make_link(client, program, key="two")
    one, two = target_of(engine, settings, "one"), target_of(engine, settings, "two")
    clicks = portable([(b"a", one, 1.0, None, b"", b"", b""), (b"b", two, 2.0, None, b"", b"", b"", b"c"),
                       (b"c", one, 3.0, "192.0.2.1", b"ua", b"ref", b"de")])  # fmt: skip
    assert [(click[0], click[1].link_id) for click in clicks] == [(b"a", one.link_id), (b"b", two.link_id),
                                                                   (b"c", one.link_id)]  # fmt: skip
    assert clicks[0][1] is clicks[2][1]  # one TargetIds per link: pickle writes it once
    assert clicks[1][2:] == (2.0, None, b"", b"", b"", b"c") and clicks[2][2:] == (
        3.0,
        "192.0.2.1",
        b"ua",
        b"ref",
        b"de",
    )


@pytest.mark.parametrize(
    ("database_url", "writer", "in_a_process"),
    [
        ("sqlite:///clicks.db", "process", True),
        ("postgresql://postgres@127.0.0.1:5432/clicks", "process", True),
        ("sqlite:///clicks.db", "inline", False),
        ("sqlite://", "process", False),  # in memory: another process would open a database of its own
        ("sqlite:///:memory:", "process", False),
        ("sqlite:///file:clicks?mode=memory&cache=shared&uri=true", "process", False),
    ],
)
def test_who_writes_the_clicks(database_url: str, writer: str, in_a_process: bool) -> None:
    settings = Settings(database_url=database_url, click_writer=writer)  # type: ignore[arg-type]
    assert settings.writes_clicks_in_a_process is in_a_process


def test_the_app_starts_a_writer_process_only_where_one_can_open_the_database(tmp_path: Path) -> None:
    on_file = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'clicks.db'}", click_writer="process"))
    in_memory = create_app(Settings(database_url="sqlite://", click_writer="process"))
    assert isinstance(on_file.runtime.click_buffer.process, ClickWriterProcess)
    assert in_memory.runtime.click_buffer.process is None
