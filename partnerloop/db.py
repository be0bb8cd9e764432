"""Engine and sessions. SQLite runs in WAL mode with BEGIN IMMEDIATE for writing transactions."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from partnerloop.config import Settings
from partnerloop.kit.errors import AppError

_engines: dict[str, Engine] = {}


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # A writer takes the lock up front so that it waits instead of failing on upgrade.
            writes = connection.get_execution_options().get("sqlite_write", True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    # connect_timeout: a database host that drops packets fails a connection in 10 s, not the OS's ~2 min.
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def get_engine(settings: Settings) -> Engine:
    engine = _engines.get(settings.database_url)
    if engine is None:
        engine = _engines[settings.database_url] = make_engine(settings)
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_sqlite_writers_guard = threading.Lock()
WRITE_LOCK_TIMEOUT_S = 30.0  # as SQLite's busy_timeout


class DatabaseBusy(AppError):
    status_code = 503


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """On SQLite, this process's writers queue here for the one database write lock.

    SQLite lets one writer in at a time and a waiting writer sleeps in growing steps (up to 100 ms)
    before trying again, so under load some wait seconds; a queue in the process hands the database
    over as soon as it is free. A plain Lock, not an RLock: FastAPI may enter and leave a request's
    session in two different threads. Other databases need nothing.
    """
    if engine.dialect.name != "sqlite":
        yield
        return
    with _sqlite_writers_guard:
        lock = _sqlite_writers.get(engine)
        if lock is None:
            lock = _sqlite_writers[engine] = threading.Lock()
    if not lock.acquire(timeout=WRITE_LOCK_TIMEOUT_S):
        raise DatabaseBusy("The database stayed busy for 30 s; retry.")
    try:
        yield
    finally:
        lock.release()


@contextmanager
def transaction(engine: Engine, *, writes: bool = True) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with write_lock(engine) if writes else nullcontext():
        session = Session(bind=engine, expire_on_commit=False)
        if engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_write": writes})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def insert_ignore(session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when this call inserted the row.

    Idempotency is the unique constraint: concurrent callers wait for the winner, then do nothing.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=list(conflict))
    # Without preserve_rowcount, SQLAlchemy 2.1 reports -1 for an INSERT on PostgreSQL (psycopg).
    result = session.execute(statement.execution_options(preserve_rowcount=True))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def insert_returning(session: Session, model: Any, values: dict[str, Any], conflict: list[str]) -> Any | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row: the new row, or None when one existed.

    One statement where insert_or_get takes two: tracking a sale runs this on its hot path.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict).returning(model)
    return session.scalars(statement).one_or_none()


def insert_or_get(session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> tuple[Any, bool]:
    """Insert the row unless one with the same conflict columns exists; return (row, created)."""
    created = insert_ignore(session, model, values, conflict)
    where = [getattr(model, column) == values[column] for column in conflict]
    row = session.execute(select(model).where(*where)).scalar_one()
    return row, created


def xact_locks(session: Session, keys: Sequence[str]) -> None:
    """PostgreSQL: take each key's transaction-scoped advisory lock, in sorted order (so two callers never
    deadlock), held until the transaction ends. SQLite needs none: its writing transactions are serialized."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


def on_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once the session's transaction has committed (e.g. to refresh a cache)."""
    session.info.setdefault("on_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_on_commit(session: Session) -> None:
    for callback in session.info.pop("on_commit", []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_on_commit(session: Session) -> None:
    session.info.pop("on_commit", None)
