"""Request bodies, checked before anything reads them (authentication included).

- Size: at most 1 MB for the API and webhooks (`/api/`, `/integrations/`), 10 MB for pages (CSV
  uploads). A larger body is a 413 in the error shape; it is read no further than the limit.
- NUL characters: PostgreSQL text cannot hold U+0000, so a path or query with one (`%00`), a JSON body
  with a `\\u0000` escape (or a raw NUL byte, or `%00` in a form) is a 422 naming the problem, the same on
  both databases, before any handler runs.

The body is read here (up to the limit) and handed on unchanged. The redirect (`/go/`) never comes
here: PartnerloopApp answers it before FastAPI.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_LIMIT = 1 << 20
PAGE_LIMIT = 10 << 20
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_limit(path: str) -> int:
    return API_LIMIT if path.startswith(("/api/", "/integrations/")) else PAGE_LIMIT


def has_escaped_nul(body: bytes) -> bool:
    """A JSON `\\u0000` escape (its backslash not itself escaped), or a raw NUL byte."""
    if b"\x00" in body:
        return True
    start = body.find(b"u0000")
    while start != -1:
        backslashes = 0
        while start - backslashes - 1 >= 0 and body[start - backslashes - 1] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 1:
            return True
        start = body.find(b"u0000", start + 1)
    return False


def has_nul(body: bytes, content_type: str) -> bool:
    if "json" in content_type:
        return has_escaped_nul(body)
    if "x-www-form-urlencoded" in content_type:
        return b"\x00" in body or b"%00" in body
    return False


def has_nul_in_target(scope: Scope) -> bool:
    """A NUL in the path (`/partners/%00`, decoded by the server) or the query (`?cursor=%00`): it would reach
    a PostgreSQL text parameter as an id, a filter or a cursor."""
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"\x00" in query or b"%00" in query


async def _answer(send: Send, status: int, name: str, detail: str) -> None:
    body = json.dumps({"error": name, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_nul_in_target(scope):
            await _answer(send, 422, "InvalidInput", "Text must not contain NUL characters (\\u0000).")
            return
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, "PayloadTooLarge", f"The request body is over {limit >> 20} MB.")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, "PayloadTooLarge", f"The request body is over {limit >> 20} MB.")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if has_nul(body, headers.get(b"content-type", b"").decode("latin-1").lower()):
            await _answer(send, 422, "InvalidInput", "Text must not contain NUL characters (\\u0000).")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: a disconnect, when it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
