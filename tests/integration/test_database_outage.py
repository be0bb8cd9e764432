"""A real `partnerloop serve` while its database fails: SQLite on a small tmpfs filled to the last byte, and
PostgreSQL behind a loopback proxy that stops accepting. The redirect keeps answering 302 at once, /healthz
answers 503 with the reason, an API write answers 503 DatabaseUnavailable, SIGTERM exits within its bound,
and every click whose 302 was sent reaches the database once writes succeed (replayed from the spill
file, by the same process or by the next start), exactly once."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, func, select

from partnerloop.config import Settings
from partnerloop.models import Click, ClickRollup

PARTNERLOOP = str(Path(sys.executable).with_name("partnerloop"))
STOP_BOUND_S = 10.0  # the click buffer's drain at shutdown (tracking/buffer.py STOP_TIMEOUT_S)
EXIT_WITHIN_S = STOP_BOUND_S + 8  # + uvicorn's own shutdown and the interpreter's exit
REDIRECT_WITHIN_S = 0.5  # the slowest 302 allowed during the outage (a healthy one takes ~1 ms)
BUFFER_MAX = 200  # CLICK_BUFFER_MAX for the server: a burst of 600 overflows it, so clicks are shed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _eventually(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


@dataclass
class Server:
    """`partnerloop serve` on a free port, its output in a file."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=_free_port)
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.popen = subprocess.Popen(
                [PARTNERLOOP, "serve", "--port", str(self.port), "--no-jobs"],
                env=self.env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, self.log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    assert "job runner" not in self.log.read_text()  # --no-jobs: the jobs are left to a worker
                    return
            time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def terminate(self) -> float:
        """SIGTERM; the seconds it took to exit (asserted to be a clean exit)."""
        assert self.popen is not None
        started = time.monotonic()
        self.popen.send_signal(signal.SIGTERM)
        code = self.popen.wait(timeout=60)
        took = time.monotonic() - started
        assert code in (0, -signal.SIGTERM), self.log.read_text()
        return took

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PARTNERLOOP, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _link(server: Server, env: dict[str, str], key: str) -> tuple[str, dict[str, str]]:
    """A program (made with the CLI), a partner and a link: (link id, API headers)."""
    program = json.loads(_cli(env, "program", "create", "--name", "Outage", "--domain", "shop.test", "--json"))
    headers = {"Authorization": f"Bearer {program['api_key']}"}
    partner = httpx.post(f"{server.url}/api/v1/partners", json={"email": "o@example.com", "name": "O"},
                         headers=headers).json()  # fmt: skip
    link = httpx.post(f"{server.url}/api/v1/links", headers=headers,
                      json={"partner_id": partner["id"], "destination_url": "https://shop.test/", "key": key})  # fmt: skip
    assert link.status_code == 201, link.text
    return link.json()["id"], headers


def _burst(url: str, key: str, count: int, connections: int = 8) -> tuple[list[str], float]:
    """`count` redirects from `connections` clients: (the click ids of the 302s, the slowest answer in s)."""
    received: list[str] = []
    slowest = [0.0]
    problems: list[str] = []
    lock = threading.Lock()

    def client_loop(share: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for _ in range(share):
                started = time.monotonic()
                response = client.get(f"/go/{key}")
                took = time.monotonic() - started
                with lock:
                    slowest[0] = max(slowest[0], took)
                    if response.status_code != 302:
                        problems.append(f"{response.status_code} {response.text[:200]}")
                    else:
                        received.append(response.headers["location"].split("pl_cid=")[1])

    threads = [threading.Thread(target=client_loop, args=(count // connections,)) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert problems == []
    assert len(received) == count
    return received, slowest[0]


def _unhealthy(url: str) -> dict[str, Any] | None:
    answer = httpx.get(f"{url}/healthz", timeout=5)
    return answer.json() if answer.status_code == 503 else None


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def _stored(database_url: str, link_id: str) -> tuple[list[str], int]:
    """(the stored click ids of the link, with repeats if any; the rollup's click total)."""
    reader = create_engine(Settings(database_url=database_url).sqlalchemy_url)
    try:
        with reader.connect() as connection:
            ids = list(connection.execute(select(Click.id).where(Click.link_id == link_id)).scalars())
            rollup = connection.execute(
                select(func.coalesce(func.sum(ClickRollup.clicks), 0)).where(ClickRollup.link_id == link_id)
            ).scalar_one()
    finally:
        reader.dispose()
    return ids, int(rollup)


def _write_refused(server: Server, headers: dict[str, str]) -> httpx.Response:
    answer = httpx.post(f"{server.url}/api/v1/partners", json={"email": "late@example.com", "name": "Late"},
                        headers=headers, timeout=30)  # fmt: skip
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "DatabaseUnavailable", answer.text
    assert set(answer.json()) == {"error", "detail"}
    assert int(answer.headers["retry-after"]) > 0
    return answer


@contextlib.contextmanager
def _tmpfs(directory: Path, size: str) -> Iterator[None]:
    directory.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the disk-full test (root is needed): {mounted.stderr.strip()}")
    try:
        yield
    finally:
        if subprocess.run(["umount", str(directory)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(directory)], check=False)  # a straggler still holds a file


def _fill(disk: Path, database: Path) -> Path:
    """Write a file until the disk has no byte left; returns it (delete it to free the space).

    The database's WAL is checkpointed and truncated first: SQLite reuses the space of a WAL it has reset,
    so without this the first writes after the disk filled could still fit (and fail only later)."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
    filler = disk / "filler"
    assert shutil.disk_usage(disk).free > 0, sorted((path.name, path.stat().st_size) for path in disk.iterdir())
    with filler.open("wb", buffering=0) as output:
        for size in (1 << 16, 1):  # then the last bytes, one at a time
            try:
                while True:
                    output.write(b"\0" * size)
            except OSError as error:
                assert error.errno == errno.ENOSPC
    return filler


def _server_env(database_url: str, spill: Path) -> dict[str, str]:
    return {
        **os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development", "BASE_URL": "http://x",
        "CLICK_SPILL_DIR": str(spill), "CLICK_BATCH_SIZE": "50", "CLICK_BUFFER_MAX": str(BUFFER_MAX),
        "CLICK_FLUSH_INTERVAL_MS": "50",
    }  # fmt: skip


@pytest.mark.slow
def test_a_full_disk_keeps_redirects_answering_and_loses_no_click(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if database_url.startswith("postgres"):
        pytest.skip("the disk-full test runs SQLite on a tmpfs; the PostgreSQL run tests an unreachable server")
    disk = tmp_path / "disk"
    with _tmpfs(disk, "64m"):
        server_database = f"sqlite:///{disk / 'outage.db'}"
        env = _server_env(server_database, tmp_path / "spill")  # the spill on another disk: it has room
        server = Server(env, tmp_path / "serve.log")
        figures: dict[str, float] = {}
        try:
            server.start()
            link_id, headers = _link(server, env, "full")

            # 1. The disk fills up under a running server; the outage ends while it runs.
            filler = _fill(disk, disk / "outage.db")
            first, figures["slowest_302_s"] = _burst(server.url, "full", 600)
            assert figures["slowest_302_s"] < REDIRECT_WITHIN_S
            health = _eventually(lambda: _unhealthy(server.url), 10, "/healthz says 503")
            assert health["error"] == "DatabaseUnavailable"
            assert "full" in health["detail"], health
            assert health["clicks"]["shed"] == 600 - BUFFER_MAX and health["clicks"]["pending"] == BUFFER_MAX
            _write_refused(server, headers)
            filler.unlink()
            _eventually(lambda: httpx.get(f"{server.url}/healthz").status_code == 200, 30, "healthy again")
            _eventually(lambda: len(_stored(server_database, link_id)[0]) >= 600, 30, "the first burst stored")
            assert _metric(server.url, "partnerloop_clicks_shed_total") == 600 - BUFFER_MAX
            assert _metric(server.url, "partnerloop_clicks_lost_total") == 0
            _eventually(lambda: _metric(server.url, "partnerloop_clicks_replayed_total") == 600 - BUFFER_MAX, 10)

            # 2. Full again, and SIGTERMed during the outage: it exits within the bound, spilling the rest.
            filler = _fill(disk, disk / "outage.db")
            second, _slowest = _burst(server.url, "full", 400)
            _eventually(lambda: _unhealthy(server.url), 10, "/healthz says 503 again")
            figures["sigterm_exit_s"] = server.terminate()
            assert figures["sigterm_exit_s"] < EXIT_WITHIN_S, server.log.read_text()
            assert "spilled" in server.log.read_text()
            spilled = sum(len(path.read_text().splitlines()) for path in (tmp_path / "spill").glob("clicks-*.jsonl"))
            assert spilled == 400

            # 3. Space freed, the next start replays what the last one spilled.
            filler.unlink()
            server.start()
            _eventually(lambda: len(_stored(server_database, link_id)[0]) >= 1000, 30, "the spill replayed")
            _eventually(lambda: not list((tmp_path / "spill").glob("clicks-*.jsonl")), 10, "the spill deleted")
            figures["replayed_at_start"] = _metric(server.url, "partnerloop_clicks_replayed_total")
            server.terminate()
        finally:
            server.kill()
        ids, rollup = _stored(server_database, link_id)
        assert len(ids) == len(set(ids)) == 1000  # each once
        assert set(ids) == set(first) | set(second)
        assert rollup == 1000
    with capsys.disabled():
        print(f"\ndisk-full outage figures: {figures}")


class Proxy:
    """A TCP proxy on loopback to the PostgreSQL server: `stop()` closes its listener and every connection
    through it (the server sees a database host that refuses connections), `start()` accepts again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread (a close alone may not)
            listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:  # accepted as it was being stopped
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.mark.slow
def test_an_unreachable_postgresql_keeps_redirects_answering_and_the_next_start_replays_the_spill(
    engine: Engine, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL); the SQLite run tests a full disk")
    from sqlalchemy.engine import make_url

    real = make_url(database_url)
    proxy = Proxy((real.host or "127.0.0.1", real.port or 5432))
    proxy.start()
    through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = _server_env(through_proxy, tmp_path / "spill")
    server = Server(env, tmp_path / "serve.log")
    figures: dict[str, float] = {}
    try:
        server.start()
        link_id, headers = _link(server, env, "gone")
        proxy.stop()  # the database host now refuses connections
        received, figures["slowest_302_s"] = _burst(server.url, "gone", 600)
        assert figures["slowest_302_s"] < REDIRECT_WITHIN_S
        health = _eventually(lambda: _unhealthy(server.url), 10, "/healthz says 503")
        assert health["error"] in ("DatabaseUnreachable", "DatabaseUnavailable") and health["detail"], health
        _write_refused(server, headers)
        figures["sigterm_exit_s"] = server.terminate()
        assert figures["sigterm_exit_s"] < EXIT_WITHIN_S, server.log.read_text()
        spilled = sum(len(path.read_text().splitlines()) for path in (tmp_path / "spill").glob("clicks-*.jsonl"))
        assert spilled == 600

        proxy.start()
        server.start()
        _eventually(lambda: len(_stored(database_url, link_id)[0]) >= 600, 30, "the spill replayed")
        _eventually(lambda: not list((tmp_path / "spill").glob("clicks-*.jsonl")), 10, "the spill deleted")
        server.terminate()
    finally:
        server.kill()
        proxy.stop()
    ids, rollup = _stored(database_url, link_id)
    assert len(ids) == len(set(ids)) == 600
    assert set(ids) == set(received)
    assert rollup == 600
    with capsys.disabled():
        print(f"\nPostgreSQL outage figures: {figures}")
