"""The multi-row INSERTs that write clicks on SQLite: every row once, in order, in few distinct statements
(sqlite3 keeps each distinct statement compiled; one per batch size once held ~300 MB in a server)."""

from __future__ import annotations

import sqlite3

import pytest

from partnerloop.tracking.repository import (
    CLICK_COLUMNS,
    SQLITE_ROWS_PER_INSERT,
    UNIQUE_COLUMNS,
    ClickRow,
    sqlite_click_inserts,
)

COLUMNS = len(CLICK_COLUMNS) + len(UNIQUE_COLUMNS)


def _row(index: int) -> ClickRow:
    return (f"{index:026d}", "p", "l", "q", "2026-11-21 10:00:00.000000", None, None, None, None, "desktop", False,
            None, None)  # fmt: skip


@pytest.mark.parametrize("count", [1, 2, 3, 255, 1999, 2000, 2001, 4500, 7001])
def test_every_row_is_inserted_once_and_in_order(count: int) -> None:
    rows = [_row(index) for index in range(count)]
    facts = [(index % 2 == 0, f"v{index}") for index in range(count)]
    statements = sqlite_click_inserts(rows, facts, 32_766)
    values = [value for _, parameters in statements for value in parameters]
    assert values == [value for row, fact in zip(rows, facts, strict=True) for value in (*row, *fact)]
    for statement, parameters in statements:
        assert statement.count("?") == len(parameters) <= 32_766
        assert len(parameters) // COLUMNS <= SQLITE_ROWS_PER_INSERT


def test_batches_of_any_size_share_a_few_statements() -> None:
    shapes = {
        statement for count in range(1, 5000) for statement, _ in sqlite_click_inserts([_row(0)] * count, None, 32_766)
    }
    assert len(shapes) <= 13  # the full statement and one per power of two below it


def test_the_statements_run_on_sqlite_within_its_variable_limit() -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute(f"CREATE TABLE clicks ({', '.join(CLICK_COLUMNS)})")
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # older SQLite builds
    limit = connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    rows = [_row(index) for index in range(500)]
    for statement, parameters in sqlite_click_inserts(rows, None, limit):
        connection.execute(statement, parameters)
    assert connection.execute("SELECT count(*), count(DISTINCT id) FROM clicks").fetchone() == (500, 500)
