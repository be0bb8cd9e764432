"""Cursor pagination over ULID-ordered ids: the cursor is the last id of the previous page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from partnerloop.kit.errors import InvalidInput

AnySelect = Select[*tuple[Any, ...]]
MAX_LIMIT = 100


def check_limit(limit: int) -> int:
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def paginate(statement: AnySelect, id_column: Any, cursor: str | None, limit: int) -> AnySelect:
    """Newest first: rows with id < cursor, limit + 1 to know whether there is a next page."""
    check_limit(limit)
    if cursor:
        statement = statement.where(id_column < cursor)
    return statement.order_by(id_column.desc()).limit(limit + 1)


def page_of(rows: list[Any], limit: int, id_of: Any) -> tuple[list[Any], str | None]:
    """Split the limit + 1 rows into a page and the next cursor."""
    if len(rows) > limit:
        page = rows[:limit]
        return page, id_of(page[-1])
    return rows, None
