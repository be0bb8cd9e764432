from __future__ import annotations

from sqlalchemy import Engine

from partnerloop.config import Settings


class ClickBuffer:  # SCAFFOLD
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass
