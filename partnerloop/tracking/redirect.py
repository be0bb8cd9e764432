"""GET|HEAD /go/{key}: 302 to the link's destination with the click id, a first-party cookie, and the click
handed to the buffer. Raw ASGI on purpose: no routing, request objects or dependencies on the hot path,
and no I/O (the link comes from the in-process cache)."""

from __future__ import annotations

import logging
from time import time
from typing import Any

from starlette.types import Message, Scope, Send

from partnerloop.kit.errors import InvalidInput
from partnerloop.link.rules import with_utm
from partnerloop.tracking.batch import PendingClick
from partnerloop.tracking.buffer import ClickBuffer
from partnerloop.tracking.cache import LinkCache, LinkHost, split_destination
from partnerloop.tracking.click_ids import ClickIds
from partnerloop.tracking.link_rules import deep_link_target

log = logging.getLogger("partnerloop.tracking")


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
EXPIRED_PAGE = _PAGE.format(
    title="This link has expired",
    text="The link you followed was valid for a limited time only, and that time is over.",
).encode()
BAD_DEEP_LINK_PAGE = _PAGE.format(
    title="This link cannot go there",
    text="The page named in the link's 'to' parameter is not on a site this program links to, so the link was not followed.",
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
    """Answers the short links PartnerloopApp routes to it (/go/{key}, and /{key} on link domains)."""

    def __init__(self, cache: LinkCache, buffer: ClickBuffer, click_ids: ClickIds) -> None:
        self.cache = cache
        self.buffer = buffer
        self.click_ids = click_ids  # signs each click id with its link and time (tracking/click_ids.py)

    async def answer(self, scope: Scope, send: Send, key: str, host: LinkHost | None) -> None:
        """Answer a short link; `host` is set when the request came on a program's link domain (that
        program's links only, and its fallback URL for unknown keys)."""
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await _page(send, 405, METHOD_NOT_ALLOWED_PAGE, method, [(b"allow", b"GET, HEAD")])
            return
        target = self.cache.get(key)
        if target is None or (host is not None and target.program_id != host.program_id):
            if host is not None and host.unknown_location is not None:
                await _redirect(send, host.unknown_location)
            else:
                await _page(send, 404, NOT_FOUND_PAGE, method, [])
            return
        at = time()
        if at >= target.expires_at:
            # Expired: nothing is recorded (no click id is handed out, so none could convert).
            if target.expired_location is None:
                await _page(send, 410, EXPIRED_PAGE, method, [])
            else:
                await _redirect(send, target.expired_location)
            return
        head = target.location_head
        tail = target.location_tail
        query = scope["query_string"]
        if query:
            try:
                deep = deep_link_target(query, target.allowed_domains)
            except InvalidInput as error:
                log.warning("redirect: deep link of %r refused, nothing recorded: %s", key, error.message)
                await _page(send, 400, BAD_DEEP_LINK_PAGE, method, [])
                return
            if deep is not None:
                head, tail = split_destination(with_utm(deep, target.utm))

        user_agent = referrer = country = cookie_header = b""
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referrer = value
            elif name == b"cookie":
                cookie_header = value
            elif name == b"cf-ipcountry":
                country = value
        client = scope.get("client")
        click_id = self.click_ids.new(target.link_id_ascii)
        click: PendingClick = (
            click_id, target, at, client[0] if client else None, user_agent, referrer, country, cookie_header
        )  # fmt: skip
        self.buffer.add(click)  # never waits: beyond the buffer's bound the click is shed to the spill file

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
                    (b"location", head + click_id + tail),
                    (b"set-cookie", cookie),
                    (b"cache-control", b"no-store"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send(_EMPTY_BODY)


async def _redirect(send: Send, location: bytes) -> None:
    """A 302 that records nothing (fallback URLs)."""
    headers = [(b"location", location), (b"cache-control", b"no-store"), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 302, "headers": headers})
    await send(_EMPTY_BODY)


async def _page(send: Send, status: int, page: bytes, method: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers: list[Any] = [*_PAGE_HEADERS, (b"content-length", str(len(page)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else page})
