"""A real `partnerloop serve` process, SIGTERMed in the middle of a burst of redirects, loses no click:
every 302 a client received has its click in the database, and nothing else does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select

from partnerloop.config import Settings
from partnerloop.models import Click, ClickRollup

REQUESTS = 3200
CONNECTIONS = 32
SIGTERM_AFTER = 1000  # responses received before the signal: the rest are in flight or not yet sent
PARTNERLOOP = str(Path(sys.executable).with_name("partnerloop"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PARTNERLOOP, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_until_serving(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


def _burst(base_url: str, key: str, server: subprocess.Popen[bytes]) -> list[str]:
    """Fire REQUESTS redirects from CONNECTIONS concurrent clients and SIGTERM the server part way through.

    Returns the click ids of the 302s received. Threads with one connection each: httpx's async pool is
    far slower than the server when dozens of requests share it.
    """
    received: list[str] = []
    unexpected: list[str] = []  # an assert in a thread would only end that thread: collected, checked below
    lock = threading.Lock()
    signalled = threading.Event()

    def client_loop(count: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            for _ in range(count):
                try:
                    response = client.get(f"/go/{key}")
                except httpx.TransportError:
                    continue  # refused or closed by the stopping server: no 302 received, no click expected
                if response.status_code != 302:
                    unexpected.append(f"{response.status_code} {response.text[:200]}")
                    continue
                with lock:
                    received.append(response.headers["location"].split("pl_cid=")[1])
                    if len(received) == SIGTERM_AFTER:
                        server.send_signal(signal.SIGTERM)
                        signalled.set()

    threads = [threading.Thread(target=client_loop, args=(REQUESTS // CONNECTIONS,)) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "clients still running after 120 s"
    assert unexpected == []
    assert signalled.is_set(), "the burst ended before the signal: raise REQUESTS"
    return received


def _click_writers(pid: int) -> list[int]:
    """The server's child processes running the click writer."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children
            if b"partnerloop.tracking.click_writer" in Path(f"/proc/{child}/cmdline").read_bytes()]  # fmt: skip


@pytest.mark.slow
def test_sigterm_under_load_loses_no_click(engine: Engine, database_url: str, tmp_path: Path) -> None:
    # The PostgreSQL test database when the suite runs on PostgreSQL, else a fresh SQLite file.
    server_database = database_url if database_url.startswith("postgres") else f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**os.environ, "DATABASE_URL": server_database, "ENVIRONMENT": "development", "BASE_URL": "http://x",
           "CLICK_SPILL_DIR": str(tmp_path / "spill")}  # fmt: skip
    program = json.loads(_run_cli(env, "program", "create", "--name", "Sigterm", "--domain", "shop.test", "--json"))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [PARTNERLOOP, "serve", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_serving(base_url, server, log)
        headers = {"Authorization": f"Bearer {program['api_key']}"}
        partner = httpx.post(f"{base_url}/api/v1/partners", json={"email": "s@example.com", "name": "S"},
                             headers=headers).json()  # fmt: skip
        link = httpx.post(
            f"{base_url}/api/v1/links",
            headers=headers,
            json={"partner_id": partner["id"], "destination_url": "https://shop.test/", "key": "term"},
        )
        assert link.status_code == 201, link.text
        writers = _click_writers(server.pid)
        assert len(writers) == 1, writers  # serve writes clicks from a writer process of its own

        received = _burst(base_url, "term", server)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM is a clean exit.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()
        assert "Application shutdown complete" in log.read_text()
        assert not Path(f"/proc/{writers[0]}").exists()  # drained, then stopped: not left behind
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    assert len(received) >= SIGTERM_AFTER
    reader = create_engine(Settings(database_url=server_database).sqlalchemy_url)
    try:
        with reader.connect() as connection:
            stored = set(connection.execute(select(Click.id).where(Click.link_id == link.json()["id"])).scalars())
            rollup = connection.execute(
                select(func.sum(ClickRollup.clicks)).where(ClickRollup.link_id == link.json()["id"])
            ).scalar_one()
    finally:
        reader.dispose()
    assert len(stored) == len(received)
    assert stored == set(received)
    assert rollup == len(received)
