"""Which database errors are an outage (503 DatabaseUnavailable, retry later) and which are not (a constraint
stays a 409, a bad statement a 500): real errors from real SQLite and psycopg connections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from partnerloop.errors import database_outage
from tests.jobs.processes import free_port


def _raised(action: Callable[[], object]) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        action()
    return caught.value


def _sqlite(tmp_path: Path, *statements: str, read_only: bool = False) -> Callable[[], object]:
    path = tmp_path / "errors.db"
    setup = create_engine(f"sqlite:///{path}")
    with setup.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)"))
        connection.execute(text("INSERT OR IGNORE INTO t VALUES (1, x'00')"))
    setup.dispose()
    url = f"sqlite:///file:{path}?mode=ro&uri=true" if read_only else f"sqlite:///{path}"

    def run() -> object:
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
        finally:
            engine.dispose()
        return None

    return run


def test_a_full_database_is_an_outage(tmp_path: Path) -> None:
    error = _raised(_sqlite(tmp_path, "PRAGMA max_page_count = 2", "INSERT INTO t VALUES (2, zeroblob(100000))"))
    outage = database_outage(error)
    assert outage is not None and outage.status_code == 503 and "full" in outage.message
    assert outage.headers == {"Retry-After": "5"}


def test_a_read_only_database_is_an_outage(tmp_path: Path) -> None:
    error = _raised(_sqlite(tmp_path, "INSERT INTO t VALUES (3, x'01')", read_only=True))
    assert database_outage(error) is not None


def test_a_refused_postgresql_connection_is_an_outage() -> None:
    engine = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    try:
        error = _raised(engine.connect)
    finally:
        engine.dispose()
    assert database_outage(error) is not None


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("INSERT INTO t VALUES (1, x'02')", id="a unique constraint is a conflict, not an outage"),
        pytest.param("SELEKT 1", id="a bad statement is a bug, not an outage"),
        pytest.param("SELECT nothing FROM t", id="a missing column is a bug, not an outage"),
    ],
)
def test_errors_of_the_request_or_the_code_are_not_an_outage(tmp_path: Path, statement: str) -> None:
    assert database_outage(_raised(_sqlite(tmp_path, statement))) is None
