from __future__ import annotations

from sqlalchemy import Engine
from starlette.types import ASGIApp, Receive, Scope, Send


class IdempotencyMiddleware:  # SCAFFOLD: pass-through until implemented
    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
