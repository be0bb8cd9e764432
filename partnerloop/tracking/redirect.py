from __future__ import annotations

from starlette.types import Receive, Scope, Send

from partnerloop.config import Settings
from partnerloop.tracking.buffer import ClickBuffer
from partnerloop.tracking.cache import LinkCache


class RedirectApp:  # SCAFFOLD
    def __init__(self, cache: LinkCache, buffer: ClickBuffer, settings: Settings) -> None:
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
