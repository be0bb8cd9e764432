"""Idempotency-Key on POST /api/v1/…: the same key and body replay the first response; another body is 409.

Pure ASGI around the FastAPI app (Stripe's flow): the key row is inserted (in progress) before the
request runs, so of concurrent requests with one key exactly one runs; the others wait for its answer.
Keys are scoped to the program of the bearer API key. Unique business keys (invoice ids) still
protect against a crash between the handler's commit and storing its response.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import Enum

import anyio
import anyio.to_thread
from sqlalchemy import Engine, delete, select, update
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partnerloop.db import insert_ignore, transaction
from partnerloop.errors import error_response
from partnerloop.jobs.rules import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IdempotencyDecision,
    idempotency_decision,
    is_stored_response,
    request_fingerprint,
)
from partnerloop.kit.time import utc_now
from partnerloop.models import IdempotencyKey
from partnerloop.program import service as program_service

log = logging.getLogger("partnerloop.idempotency")

WAIT_FOR_IN_PROGRESS_SECONDS = 10.0
POLL_SECONDS = 0.05
REPLAYED_HEADER = (b"idempotent-replayed", b"true")


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str
    content_type: str | None


class _Begun(Enum):
    RUN = "run"  # we inserted the key: run the request
    AGAIN = "again"  # the row changed under us: look again


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _bearer_token(scope: Scope) -> str | None:
    scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, engine: Engine, *, wait_seconds: float = WAIT_FOR_IN_PROGRESS_SECONDS) -> None:
        self.app = app
        self.engine = engine
        self.wait_seconds = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not key.strip() or len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            response = error_response(
                400,
                "InvalidIdempotencyKey",
                f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters.",
            )
            await response(scope, receive, send)
            return
        token = _bearer_token(scope)
        program_id = None if token is None else await anyio.to_thread.run_sync(self._program_id, token)
        if program_id is None:  # the handler answers 401
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before sending its body
        request_hash = request_fingerprint(scope["method"], scope["path"], scope.get("query_string", b""), body)

        deadline = time.monotonic() + self.wait_seconds
        while True:
            outcome = await anyio.to_thread.run_sync(self._begin, program_id, key, request_hash)
            if outcome is _Begun.RUN:
                break
            if isinstance(outcome, StoredResponse):
                await _replay(outcome, send)
                return
            if outcome is IdempotencyDecision.REUSED:
                response = error_response(
                    409,
                    "IdempotencyKeyReused",
                    "This Idempotency-Key was used with another request; use a new key for a new request.",
                )
                await response(scope, receive, send)
                return
            if outcome is IdempotencyDecision.IN_PROGRESS and time.monotonic() >= deadline:
                response = error_response(
                    409,
                    "IdempotencyKeyInProgress",
                    "A request with this Idempotency-Key is still being processed; retry in a moment.",
                )
                await response(scope, receive, send)
                return
            if outcome is IdempotencyDecision.IN_PROGRESS:
                await anyio.sleep(POLL_SECONDS)
        await self._run(scope, receive, send, body, program_id, key)

    async def _run(self, scope: Scope, receive: Receive, send: Send, body: bytes, program_id: str, key: str) -> None:
        """Run the request with its buffered body; store its response unless it is a 5xx."""
        body_sent = False
        status_code: int | None = None
        content_type: str | None = None
        chunks: list[bytes] = []

        async def replay_body() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            nonlocal status_code, content_type
            if message["type"] == "http.response.start":
                status_code = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._forget, program_id, key)
            raise
        stored: StoredResponse | None = None
        if status_code is not None and is_stored_response(status_code):
            try:
                stored = StoredResponse(status_code, b"".join(chunks).decode("utf-8"), content_type)
            except UnicodeDecodeError:
                log.warning("Idempotency-Key %s: response is not UTF-8 text, not stored", key)
        with anyio.CancelScope(shield=True):
            try:
                if stored is None:
                    await anyio.to_thread.run_sync(self._forget, program_id, key)
                else:
                    await anyio.to_thread.run_sync(self._store, program_id, key, stored)
            except Exception:  # the response is sent; a lost row is retried after it is abandoned
                log.exception("Idempotency-Key %s: could not record the response", key)

    def _program_id(self, token: str) -> str | None:
        with transaction(self.engine, writes=False) as session:
            return program_service.program_id_for_api_key(session, token)

    def _begin(self, program_id: str, key: str, request_hash: str) -> _Begun | StoredResponse | IdempotencyDecision:
        """Insert the key as in progress, or say what the stored one means for this request."""
        with transaction(self.engine) as session:
            now = utc_now()
            values = {"program_id": program_id, "key": key, "request_hash": request_hash, "created_at": now}
            if insert_ignore(session, IdempotencyKey, values, ["program_id", "key"]):
                return _Begun.RUN
            row = session.execute(
                select(IdempotencyKey).where(IdempotencyKey.program_id == program_id, IdempotencyKey.key == key)
            ).scalar_one_or_none()
            if row is None:  # its request failed with a 5xx and forgot it: try again
                return _Begun.AGAIN
            decision = idempotency_decision(
                stored_hash=row.request_hash,
                stored_status=row.status_code,
                created_at=row.created_at,
                request_hash=request_hash,
                now=now,
            )
            if decision is IdempotencyDecision.EXPIRED:
                session.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.program_id == program_id,
                        IdempotencyKey.key == key,
                        IdempotencyKey.created_at == row.created_at,
                    )
                )
                inserted = insert_ignore(session, IdempotencyKey, values, ["program_id", "key"])
                return _Begun.RUN if inserted else _Begun.AGAIN
            if decision is IdempotencyDecision.REPLAY:
                assert row.status_code is not None
                return StoredResponse(row.status_code, row.response_body or "", row.content_type)
            return decision

    def _store(self, program_id: str, key: str, response: StoredResponse) -> None:
        with transaction(self.engine) as session:
            session.execute(
                update(IdempotencyKey)
                .where(
                    IdempotencyKey.program_id == program_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.status_code.is_(None),
                )
                .values(
                    status_code=response.status_code,
                    response_body=response.body,
                    content_type=response.content_type,
                )
            )

    def _forget(self, program_id: str, key: str) -> None:
        with transaction(self.engine) as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.program_id == program_id,
                    IdempotencyKey.key == key,
                    IdempotencyKey.status_code.is_(None),
                )
            )


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _replay(stored: StoredResponse, send: Send) -> None:
    body = stored.body.encode("utf-8")
    headers = [(b"content-length", str(len(body)).encode()), REPLAYED_HEADER]
    if stored.content_type:
        headers.append((b"content-type", stored.content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
