"""Build the SQLAlchemy engine and sessions: SQLite made crash-safe, PostgreSQL as is.

SQLite gets WAL, ``synchronous=FULL``, a busy timeout and ``BEGIN IMMEDIATE`` for every
transaction (a transaction that reads then writes must take the write lock up front, or it
fails with "database is locked" whatever the timeout). PostgreSQL work queues claim rows
with ``FOR UPDATE SKIP LOCKED``; see :func:`claim_query`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, Table, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mailproc.config import DatabaseConfig

SQLITE_BUSY_MS = 30_000
SQLITE_CACHE_KIB = 512  # page cache per connection (default 2 MiB); the OS caches the file as well


def make_engine(cfg: DatabaseConfig | str) -> Engine:
    """Create the engine for ``cfg.url``; for SQLite, create the file's folder if needed."""
    url = make_url(cfg if isinstance(cfg, str) else cfg.url)
    echo = False if isinstance(cfg, str) else cfg.echo
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_MS / 1000, "isolation_level": None},
        )
        _make_sqlite_safe(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _make_sqlite_safe(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


def claim_query(stmt: Select[Any], engine: Engine) -> Select[Any]:
    """Lock claimed work rows on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises."""
    if is_sqlite(engine):
        return stmt
    return stmt.with_for_update(skip_locked=True)


def allocate_ids(session: Session, table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table`` (an integer ``id``), to insert rows with.

    Rows whose ids are known beforehand go in as one multi-row INSERT without RETURNING:
    SQLite cannot tie RETURNING rows to their parameters in a batched INSERT, so
    SQLAlchemy would otherwise send one INSERT per row. On SQLite this must run inside the
    write transaction (``BEGIN IMMEDIATE``, as every transaction here): the next ids are
    then the table's own, ``max(id) + 1`` onwards. PostgreSQL takes them from the column's
    sequence, as its own inserts do.
    """
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "sqlite":
        start = int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
        return list(range(start, start + n))
    query = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
    return [int(i) for i in session.scalars(query, {"table": table.fullname, "n": n})]
