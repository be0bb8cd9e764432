"""The click spill: clicks the database could not take (the buffer was full, or the server stopped during an
outage), appended to a local file and replayed into the database once writes succeed again.

One directory (CLICK_SPILL_DIR, docs/operations.md); each process appends to a file of its own,
`clicks-<pid>-<start>.jsonl`, one JSON object a click, written and fsync'd a batch at a time. The writing
process holds an flock on its file; a replayer takes only files it can lock, so the files of a live process
are left to it, and those of a process that died are taken by the next one. A file is deleted once all of
its clicks are committed; replaying skips the ids already stored, so a file replayed twice (a crash
mid-replay) writes each click once. A last line cut short by a crash is skipped (that click is lost).
Hand-written: an append-only file of JSON lines with flock is all it takes; no library does less.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from partnerloop.config import Settings
from partnerloop.tracking.batch import PendingClick, TargetIds, WritableClick

log = logging.getLogger("partnerloop.tracking")

PREFIX = "clicks-"
SUFFIX = ".jsonl"
MAX_FILE_CLICKS = 100_000  # a file is replayed from memory (~1 KB a click): a long outage makes several


def spill_directory(settings: Settings) -> Path:
    """CLICK_SPILL_DIR; unset: `<database file>.click-spill` beside a SQLite database file, else
    `click-spill` in the working directory (in-memory SQLite: the temporary directory)."""
    if settings.click_spill_dir:
        return Path(settings.click_spill_dir)
    url = settings.database_url
    if settings.is_sqlite:
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path in ("", ":memory:") or "mode=memory" in url:
            import tempfile

            return Path(tempfile.gettempdir()) / "partnerloop-click-spill"
        return Path(path + ".click-spill")
    return Path("click-spill")


def _line(click: WritableClick) -> bytes:
    target = click[1]
    # Headers are bytes: latin-1 maps each byte to one code point and back, exactly.
    record = {
        "id": click[0].decode("ascii"), "program_id": target.program_id, "link_id": target.link_id,
        "partner_id": target.partner_id, "at": click[2], "ip": click[3], "user_agent": click[4].decode("latin-1"),
        "referrer": click[5].decode("latin-1"), "country": click[6].decode("latin-1"),
        "cookie": click[7].decode("latin-1") if len(click) > 7 else None,
    }  # fmt: skip
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


def _click(line: bytes) -> WritableClick:
    record = json.loads(line)
    target = TargetIds(record["program_id"], record["link_id"], record["partner_id"])
    head = (
        record["id"].encode("ascii"), target, float(record["at"]), record["ip"],
        record["user_agent"].encode("latin-1"), record["referrer"].encode("latin-1"),
        record["country"].encode("latin-1"),
    )  # fmt: skip
    cookie = record.get("cookie")
    return (*head, cookie.encode("latin-1")) if cookie is not None else head


@dataclass
class SpillFile:
    """A spill file claimed for replay (locked by this process until finished or released)."""

    path: Path
    handle: IO[bytes]
    clicks: list[WritableClick] = field(default_factory=list)
    position: int = 0  # clicks before this one are committed


class ClickSpill:
    """This process's spill file, and the claiming of spill files to replay. Blocking file I/O: the click
    buffer calls it from a worker thread (or at shutdown)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._handle: IO[bytes] | None = None
        self._path: Path | None = None
        self._lines = 0  # clicks in this process's current file
        self._lock = threading.Lock()  # the spiller's and the flusher's threads both reach this process's file

    def append(self, clicks: Sequence[PendingClick] | Sequence[WritableClick]) -> None:
        """Append the clicks to this process's file and fsync it; raises OSError when they cannot be stored
        (nothing is then counted as spilled; a partial last line is skipped on replay)."""
        if not clicks:
            return
        data = b"".join(_line(click) for click in clicks)
        with self._lock:
            self._append(data, len(clicks))

    def _append(self, data: bytes, count: int) -> None:
        if self._lines >= MAX_FILE_CLICKS:
            self._close()
        handle = self._handle
        if handle is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._path = self.directory / f"{PREFIX}{os.getpid()}-{time.time_ns()}{SUFFIX}"
            handle = self._handle = self._path.open("ab")
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        try:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        except OSError:
            # The file may now end in a partial line: start a fresh file next time (replay skips the cut).
            self._close()
            raise
        self._lines += count

    def close(self) -> None:
        """Close (and unlock) this process's file: from now on it is another file to replay."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError as error:
                log.warning("click spill: closing %s failed: %s", self._path, error)
        self._lines = 0

    def has_files(self) -> bool:
        """Whether any spill file (of this process or another) is in the directory."""
        try:
            return any(self.directory.glob(f"{PREFIX}*{SUFFIX}"))
        except OSError:
            return False

    def claim(self) -> SpillFile | None:
        """The oldest spill file nobody holds, locked and read; this process's own file is closed first so
        that its clicks are replayed too. None when there is none."""
        if self._handle is not None:
            self.close()
        try:
            paths = sorted(self.directory.glob(f"{PREFIX}*{SUFFIX}"), key=lambda path: path.stat().st_mtime)
        except OSError:
            return None
        for path in paths:
            try:
                handle = path.open("rb")
            except OSError:
                continue
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live process still appends to it
                handle.close()
                continue
            if not path.exists():  # replayed and deleted by another process between glob and lock
                handle.close()
                continue
            claimed = SpillFile(path, handle)
            for number, line in enumerate(handle.read().splitlines(), 1):
                try:
                    claimed.clicks.append(_click(line))
                except (ValueError, KeyError, TypeError, UnicodeError) as error:
                    log.error("click spill: %s line %d is not a click (cut short by a crash?), skipped: %s",
                              path, number, error)  # fmt: skip
            return claimed
        return None

    @staticmethod
    def finish(claimed: SpillFile) -> None:
        """Every click of the file is committed: delete it."""
        try:
            claimed.path.unlink(missing_ok=True)
        finally:
            claimed.handle.close()

    @staticmethod
    def release(claimed: SpillFile) -> None:
        """Give the file back unfinished (kept for the next replay)."""
        claimed.handle.close()
