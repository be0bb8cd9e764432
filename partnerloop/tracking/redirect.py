"""GET|HEAD /go/{key}: 302 to the link's destination with the click id, a first-party cookie, and the click
handed to the buffer. Raw ASGI on purpose: no routing, request objects or dependencies on the hot path,
and no I/O (the link comes from the in-process cache)."""

from __future__ import annotations

from time import time
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from partnerloop.config import Settings
from partnerloop.kit.ids import new_id_bytes
from partnerloop.tracking.buffer import ClickBuffer, PendingClick
from partnerloop.tracking.cache import LinkCache

PREFIX = "/go/"
_PREFIX_LENGTH = len(PREFIX)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:15vh auto;padding:0 1rem;color:#222}}
h1{{font-size:1.4rem}}p{{color:#555}}</style></head>
<body><h1>{title}</h1><p>{text}</p></body></html>
"""
NOT_FOUND_PAGE = _PAGE.format(
    title="This link does not exist",
    text="The link you followed is unknown or was removed. Check the address, or ask whoever shared it.",
).encode()
METHOD_NOT_ALLOWED_PAGE = _PAGE.format(
    title="Method not allowed", text="Short links answer GET and HEAD requests only."
).encode()
_PAGE_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-store"),
]
_EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}


class RedirectApp:
    """The ASGI app PartnerloopApp hands every /go/ request to."""

    def __init__(self, cache: LinkCache, buffer: ClickBuffer, settings: Settings) -> None:
        self.cache = cache
        self.buffer = buffer
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await _page(send, 405, METHOD_NOT_ALLOWED_PAGE, method, [(b"allow", b"GET, HEAD")])
            return
        key = scope["path"][_PREFIX_LENGTH:]
        if key.endswith("/"):
            key = key[:-1]
        target = self.cache.get(key)
        if target is None:
            await _page(send, 404, NOT_FOUND_PAGE, method, [])
            return

        user_agent = referrer = country = b""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referrer = value
            elif name == b"cf-ipcountry":
                country = value
        client = scope.get("client")
        click_id = new_id_bytes()
        buffer = self.buffer
        if buffer.full:
            await buffer.wait_for_room()
        click: PendingClick = (click_id, target, time(), client[0] if client else None, user_agent, referrer, country)
        buffer.add(click)

        cookie = (
            b"pl_cid="
            + click_id
            + (target.secure_cookie_attributes if scope.get("scheme") == "https" else target.cookie_attributes)
        )
        await send(
            {
                "type": "http.response.start",
                "status": 302,
                "headers": [
                    (b"location", target.location_head + click_id + target.location_tail),
                    (b"set-cookie", cookie),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send(_EMPTY_BODY)


async def _page(send: Send, status: int, page: bytes, method: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers: list[Any] = [*_PAGE_HEADERS, (b"content-length", str(len(page)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else page})
