"""Real `partnerloop serve` / `partnerloop worker` subprocesses for the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(database_url: str) -> dict[str, str]:
    spill = tempfile.mkdtemp(prefix="partnerloop-spill-")  # not ./click-spill in the working directory
    return {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "test", "JOB_POLL_INTERVAL_MS": "50",
            "CLICK_SPILL_DIR": spill}  # fmt: skip


class Process:
    """A subprocess whose stderr lines are collected by a thread (so its pipe never fills up)."""

    def __init__(self, args: list[str], database_url: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "partnerloop.cli", *args],
            env=_env(database_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no line with {text!r}; exit {self.popen.poll()}; output:\n{self.output}")
            time.sleep(0.02)

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM, then the exit code (killed and failed if it does not stop in time)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(f"did not stop within {timeout} s; output:\n{self.output}") from None
        finally:
            self._reader.join(timeout=5)


@contextmanager
def worker_process(database_url: str) -> Iterator[Process]:
    process = Process(["worker"], database_url)
    try:
        process.wait_for_line("started")
        yield process
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
            process.popen.wait()


@contextmanager
def serve_process(database_url: str) -> Iterator[str]:
    """`partnerloop serve` on a free port; yields its base URL once /healthz answers."""
    port = free_port()
    process = Process(["serve", "--port", str(port)], database_url)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # serve takes about 18 s to answer here
        while True:
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not come up; output:\n{process.output}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base_url
    finally:
        process.terminate()
