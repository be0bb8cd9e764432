"""Exchange rates as the API takes and gives them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints


def _rate_text(value: object) -> object:
    """A rate comes as decimal text ("1.0841") or a JSON number, kept as its shortest decimal text."""
    if isinstance(value, bool):
        raise ValueError('must be a decimal number such as "1.0841"')
    if isinstance(value, int | float):
        return repr(value)
    return value


RateText = Annotated[
    str, BeforeValidator(_rate_text), StringConstraints(strip_whitespace=True, min_length=1, max_length=60)
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]


class FxRateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: Code
    quote: Code
    date: dt.date
    rate: RateText


class FxRateOut(BaseModel):
    id: str
    base: str
    quote: str
    date: dt.date
    rate: str
    source: str
    updated_at: dt.datetime


class FxRateList(BaseModel):
    data: list[FxRateOut]
    next_cursor: str | None


class FxImportOut(BaseModel):
    imported: int
    pairs: list[str]
    first_date: dt.date | None
    last_date: dt.date | None
