from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CloseAlertIn(BaseModel):
    """Resolve or dismiss: a note, and what becomes of the commissions the alert held (kept on hold by default)."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=1000)
    commissions: Literal["keep", "approve", "reject"] = "keep"
