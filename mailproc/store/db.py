"""Build the SQLAlchemy engine and sessions: SQLite made crash-safe, PostgreSQL as is.

SQLite gets WAL, ``synchronous=FULL``, a busy timeout and ``BEGIN IMMEDIATE`` for every
transaction (a transaction that reads then writes must take the write lock up front, or it
fails with "database is locked" whatever the timeout), except the read-only ones
(:func:`reading`). The threads of one process take the write lock in turn (see
``_make_sqlite_safe``). PostgreSQL work queues claim rows with ``FOR UPDATE SKIP LOCKED``;
see :func:`claim_query`.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, String, Table, create_engine, event, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from mailproc.config import DatabaseConfig

SelectT = TypeVar("SelectT", bound=Select[*tuple[Any, ...]])
SQLITE_BUSY_MS = 30_000
SQLITE_CACHE_KIB = 512  # page cache per connection (default 2 MiB); the OS caches the file as well


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The engine a sessionmaker is bound to (stages take the sessionmaker alone)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the sessionmaker is not bound to an engine")
    return bind


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def prepare_sqlite_dir(engine: Engine) -> None:
    """Create the folder of a SQLite database (private to mailproc's user) before it is first
    created; only commands that create the schema call this, so looking never creates one."""
    path = sqlite_file(engine.url.render_as_string(hide_password=False))
    if path is not None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def make_engine(cfg: DatabaseConfig | str) -> Engine:
    """Create the engine for ``cfg.url`` (nothing is created on disk: see :func:`prepare_sqlite_dir`)."""
    url = make_url(cfg if isinstance(cfg, str) else cfg.url)
    echo = False if isinstance(cfg, str) else cfg.echo
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": SQLITE_BUSY_MS / 1000, "isolation_level": None},
            hide_parameters=True,  # an error's text never carries customers' data
        )
        _make_sqlite_safe(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, hide_parameters=True)


_TEXT_COLUMNS: dict[str, tuple[tuple[str, int | None], ...]] = {}


def fit(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` made storable in ``table``: text without NUL characters (PostgreSQL refuses them),
    short text without unpaired surrogates and cut to its column's length; so one hostile value
    costs a cut field, not the batch's write. Returns ``row`` itself when nothing needs fixing."""
    columns = _TEXT_COLUMNS.get(table.name)
    if columns is None:
        columns = _TEXT_COLUMNS[table.name] = tuple(
            (c.name, getattr(c.type, "length", None)) for c in table.columns
            if isinstance(c.type, String))  # (Text is a String without a length)
    fitted: dict[str, Any] | None = None
    for name, length in columns:
        value = row.get(name)
        if value.__class__ is not str:
            continue
        fixed = value.replace("\x00", "") if "\x00" in value else value
        if length is not None:
            if not fixed.isascii() and _has_surrogates(fixed):
                fixed = fixed.encode("utf-8", "replace").decode("utf-8")
            fixed = fixed[:length]
        if fixed is not value:
            fitted = dict(row) if fitted is None else fitted
            fitted[name] = fixed
    return row if fitted is None else fitted


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_READ_ONLY = "mailproc_read_only"  # execution option: see reading()
_TURN = "mailproc_write_turn"  # in a connection's info while it holds this process's write turn


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

    # The threads of this process take write transactions in turn through a lock, which wakes
    # a waiting thread the moment it is free. SQLite's own busy handler (still there for other
    # processes) sleeps between tries, up to 100 ms at a time: the poller's store would sit
    # that long after the writer's transaction ended, and the workers with it, waiting for
    # mail. A thread that cannot get the lock within the busy timeout goes on to SQLite's wait.
    turn = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN")  # a snapshot: it neither takes nor waits for the write lock
            return
        held = turn.acquire(timeout=SQLITE_BUSY_MS / 1000)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if held:
                turn.release()
            raise
        if held:
            conn.info[_TURN] = True

    def _end(conn: Any) -> None:
        if conn.info.pop(_TURN, False):
            turn.release()

    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None and record.info.pop(_TURN, False):  # (a transaction left unfinished)
            turn.release()

    event.listen(engine, "commit", _end)
    event.listen(engine, "rollback", _end)
    event.listen(engine, "checkin", _checkin)


_OUTAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS})


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` is the database's or the disk's fault rather than a row's: the server
    gone or restarting, the connection lost, the disk or the database full, a read-only or
    failing disk. Such a failure is retried as a whole later; no message is blamed for it."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OSError) and exc.errno in _OUTAGE_ERRNOS:
        return True
    return isinstance(exc, sqlite3.OperationalError)


def outage_summary(exc: BaseException) -> str:
    """One line naming the fault, without SQL or values: the driver's own first line."""
    inner = getattr(exc, "orig", None) or exc
    first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {first[:200]}" if first else type(inner).__name__


BLOB_CHUNK = 1 << 20


def insert_blobs(session: Session, table: Table, column: str, rows: Sequence[tuple[int, bytes]]) -> None:
    """INSERT ``(id, blob)`` rows into ``table``. On SQLite a blob over a megabyte is written
    through the incremental blob API, a megabyte at a time, into a ``zeroblob`` placeholder:
    bound as a parameter, SQLite would copy it whole and the cached statement would keep that
    copy until its next use (25 MB held per connection after one large mail)."""
    if not rows:
        return
    sqlite = is_sqlite(session.get_bind())  # type: ignore[arg-type]
    small = [{"id": row_id, column: blob} for row_id, blob in rows if not sqlite or len(blob) <= BLOB_CHUNK]
    if small:
        session.execute(table.insert(), small)
    large = [(row_id, blob) for row_id, blob in rows if sqlite and len(blob) > BLOB_CHUNK]
    if not large:
        return
    raw_conn = session.connection().connection.driver_connection
    view_of: Any = memoryview
    for row_id, blob in large:
        session.execute(table.insert().values({"id": row_id, column: func.zeroblob(len(blob))}))
        with raw_conn.blobopen(table.name, column, row_id) as handle:  # type: ignore[union-attr]
            view = view_of(blob)
            for at in range(0, len(blob), BLOB_CHUNK):
                handle.write(view[at:at + BLOB_CHUNK])


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads only: on SQLite its transaction is a plain ``BEGIN``, a snapshot
    of the last commit that neither takes nor waits for the write lock (WAL readers never
    block). Not for writing: it would have to upgrade to the write lock midway, which fails
    if another connection committed since its snapshot."""
    with factory() as session:
        session.connection(execution_options={_READ_ONLY: True})
        yield session


def insert_ignoring_conflicts(session: Session, table: Any, key: str) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING`` for ``table`` on the session's database.

    The dialect's module is imported here, when first needed: SQLAlchemy's PostgreSQL dialect
    brings asyncio with it, 20 ms of start-up that a SQLite run never uses."""
    if session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table).on_conflict_do_nothing(index_elements=[key])


def claim_query(stmt: SelectT, engine: Engine) -> SelectT:
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


@dataclass(frozen=True)
class RawReader:
    """Reads the stored raw bytes of inbound messages over a plain DB-API connection of the
    calling process's own (opened on first use, reopened after a fork or an error).

    The analysis workers read the mail they analyse with it, so the bytes never pass
    through the main process, and the workers leave SQLAlchemy's objects, which they share
    with their parent page for page, untouched. Picklable: built in the parent from its
    engine, handed to the workers with each task."""

    dbapi: str  # the DB-API module's name: sqlite3, psycopg
    cargs: tuple[Any, ...]
    cparams: dict[str, Any] = field(hash=False, repr=False)  # may hold the password
    placeholder: str  # ? or %s
    table: str

    @classmethod
    def for_engine(cls, engine: Engine, table: Table) -> RawReader:
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        cparams = {k: v for k, v in cparams.items() if k != "context"}  # SQLAlchemy's own adapters
        if is_sqlite(engine):
            cparams.update(timeout=SQLITE_BUSY_MS / 1000, isolation_level=None)
        return cls(dbapi=engine.dialect.loaded_dbapi.__name__, cargs=tuple(cargs), cparams=cparams,
                   placeholder="?" if engine.dialect.paramstyle == "qmark" else "%s", table=table.name)

    def read(self, ids: Sequence[int]) -> dict[int, bytes]:
        """``{id: raw}`` of those of ``ids`` that are stored; one retry on a fresh connection."""
        if not ids:
            return {}
        query = f"SELECT id, raw FROM {self.table} WHERE id IN ({', '.join([self.placeholder] * len(ids))})"
        with _READER_LOCK:  # the daemon's jobs run in threads; one connection serves them in turn
            try:
                return self._fetch(query, ids)
            except Exception:
                _drop_reader_connection()
                return self._fetch(query, ids)  # once more, on a fresh connection

    def _fetch(self, query: str, ids: Sequence[int]) -> dict[int, bytes]:
        conn = _reader_connection(self)
        cur = conn.cursor()
        cur.execute(query, list(ids))
        found = {int(row[0]): bytes(row[1]) for row in cur.fetchall()}
        cur.close()
        conn.rollback()  # end the read transaction (PostgreSQL); a no-op in autocommit
        return found


# This process's reader connection: one at a time, tagged with the pid that opened it (a
# connection must never be used across fork), and its lock, new in a forked child (a lock
# held by another thread at the fork would stay held there for ever).
_READER: tuple[int, RawReader, Any] | None = None
_READER_LOCK = threading.Lock()


def _new_reader_lock() -> None:
    global _READER_LOCK
    _READER_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_reader_lock)


def _reader_connection(reader: RawReader) -> Any:
    global _READER
    if _READER is not None and _READER[0] == os.getpid() and _READER[1] == reader:
        return _READER[2]
    _drop_reader_connection()
    conn = importlib.import_module(reader.dbapi).connect(*reader.cargs, **reader.cparams)
    if reader.dbapi.startswith("sqlite3"):
        conn.execute("PRAGMA query_only=ON")  # reads only: never the write lock
        conn.execute("PRAGMA cache_size=-256")
    _READER = (os.getpid(), reader, conn)
    return conn


def _drop_reader_connection() -> None:
    global _READER
    if _READER is not None and _READER[0] == os.getpid():
        with contextlib.suppress(Exception):  # already broken
            _READER[2].close()
    _READER = None
