"""The click writer process: decides and writes the click buffer's batches outside the server's process.

The server (ClickWriterProcess) starts `python -m partnerloop.tracking.click_writer` and talks to it over
its stdin and stdout, one request and one answer at a time, each a frame: 4 bytes of length (big-endian)
and a pickle.

    server -> writer   Settings                          once, first
    writer -> server   ("ready",)                        the engine is made and ua-parser warmed
    server -> writer   (skip_stored, [WritableClick])    a batch; its link targets are sent as TargetIds
    writer -> server   ("ok", clicks written)            committed
                       ("error", row_error, "message")   nothing committed; the server retries or bisects

The writer ignores SIGINT and SIGTERM (Ctrl-C in a terminal reaches the whole process group): it stops
when its stdin closes, which the server does once the buffer is drained, or when the server dies. If the
writer dies, the server's next write starts another, and the batch is retried with `skip_stored`, so a
batch committed just before the death is not written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import struct
import sys
from collections.abc import Sequence
from typing import Any, BinaryIO

from partnerloop.config import Settings
from partnerloop.db import make_engine
from partnerloop.tracking.batch import (
    WARM_UP_AGENT,
    BatchWriter,
    ClickWriteFailed,
    TargetIds,
    WritableClick,
    is_row_error,
)
from partnerloop.tracking.useragent import agent_facts

log = logging.getLogger("partnerloop.tracking")

_LENGTH = struct.Struct(">I")
START_TIMEOUT_S = 60.0  # imports, the engine, ua-parser's matcher: ~1 s on this machine
STOP_TIMEOUT_S = 30.0  # after its stdin closes, the writer has at most its current batch to finish


def frame(message: object) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def portable(batch: Sequence[WritableClick]) -> list[WritableClick]:
    """The batch with each LinkTarget replaced by its ids (one TargetIds per link, which pickle sends once)."""
    ids: dict[str, TargetIds] = {}
    clicks: list[WritableClick] = []
    for click in batch:
        target = click[1]
        target_ids = ids.get(target.link_id)
        if target_ids is None:
            target_ids = ids[target.link_id] = TargetIds(target.program_id, target.link_id, target.partner_id)
        clicks.append((click[0], target_ids, *click[2:]))
    return clicks


class ClickWriterProcess:
    """The server's side: starts the writer, hands it batches, starts another if it died."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0  # writers started so far (a restart after a death counts)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def start(self) -> None:
        """Start the writer and wait until it is ready; a writer that cannot start raises here."""
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "partnerloop.tracking.click_writer",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._process = process
        self.starts += 1
        try:
            answer = await asyncio.wait_for(self._ask(process, self.settings), START_TIMEOUT_S)
        except BaseException:
            await self._kill()
            raise
        if answer != ("ready",):
            await self._kill()
            raise ClickWriteFailed(f"the click writer did not start: {answer!r}", row_error=False)

    async def write(self, batch: Sequence[WritableClick], skip_stored: bool) -> int:
        """Have the writer write the batch and return the clicks written (with `skip_stored`, those not
        stored already). Raises ClickWriteFailed when nothing was committed or, after the writer died,
        when that is not known: the retry's `skip_stored` sorts it out."""
        process = self._process
        if process is None or process.returncode is not None:
            if process is not None:
                log.warning("click writer: exited with %s, starting another", process.returncode)
            await self.start()
            process = self._process
            assert process is not None
        answer = await self._ask(process, (skip_stored, portable(batch)))
        if answer[0] != "ok":
            raise ClickWriteFailed(answer[2], row_error=answer[1])
        return int(answer[1])

    async def stop(self) -> None:
        """Close the writer's stdin and wait for it to finish (killed after STOP_TIMEOUT_S)."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            log.error("click writer: did not exit %.0f s after its input closed; killed", STOP_TIMEOUT_S)
            process.kill()
            await process.wait()

    async def kill(self) -> None:
        """Kill the writer now (a shutdown that cannot wait for its current write)."""
        await self._kill()
        self._process = None

    async def _ask(self, process: asyncio.subprocess.Process, message: object) -> Any:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(frame(message))
            await process.stdin.drain()
            length = _LENGTH.unpack(await process.stdout.readexactly(_LENGTH.size))[0]
            return pickle.loads(await process.stdout.readexactly(length))
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            await self._kill()
            raise ClickWriteFailed(f"the click writer exited ({type(error).__name__})", row_error=False) from error

    async def _kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _read(stream: BinaryIO) -> Any:
    """The next message, or None at the end of the input."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)


def _send(stream: BinaryIO, message: object) -> None:
    stream.write(frame(message))
    stream.flush()


def main() -> None:
    """The writer: read batches from stdin until it closes, answer each on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The answers go to the original stdout; anything else printed (by us or a library) goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     click writer: %(message)s")

    settings = _read(requests)
    if not isinstance(settings, Settings):
        sys.exit("click writer: expected the settings first")
    engine = make_engine(settings)
    writer = BatchWriter(engine)
    agent_facts(WARM_UP_AGENT)
    try:
        _send(answers, ("ready",))
        while (request := _read(requests)) is not None:
            skip_stored, clicks = request
            try:
                answer: tuple[Any, ...] = ("ok", writer.write(clicks, skip_stored))
            except Exception as error:  # answered: the server logs it and retries or sets the row aside
                answer = ("error", is_row_error(error), f"{type(error).__name__}: {error}")
            _send(answers, answer)
    except BrokenPipeError:  # the server is gone
        pass
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
