"""SQLite transactions between the threads of one process: write turns, read-only snapshots.

Liveness, not timing: a thread that should go ahead must finish while the other still holds
its transaction open (or at once after it ends); a join timeout only catches one that hangs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from mailproc.store.db import make_engine, make_sessionmaker, reading, transaction

HANG = 10.0  # seconds: far more than any of these steps takes, far less than the busy timeout


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path}/db.sqlite3")
    made = make_sessionmaker(engine)
    with transaction(made) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    yield made
    engine.dispose()


def _in_thread(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _count(factory: sessionmaker[Session]) -> int:
    with reading(factory) as session:
        return int(session.scalar(text("SELECT count(*) FROM t")) or 0)


def test_a_reader_neither_waits_for_nor_sees_an_open_write(factory: sessionmaker[Session]) -> None:
    opened, release = threading.Event(), threading.Event()

    def write() -> None:
        with transaction(factory) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            opened.set()
            release.wait(HANG)

    writer = _in_thread(write)
    assert opened.wait(HANG)
    seen: list[int] = []
    reader = _in_thread(lambda: seen.append(_count(factory)))
    reader.join(HANG)
    assert not reader.is_alive() and seen == [0]  # read while the write was still open
    release.set()
    writer.join(HANG)
    assert _count(factory) == 1


def test_writers_take_turns_and_each_sees_the_last_commit(factory: sessionmaker[Session]) -> None:
    opened, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first() -> None:
        with transaction(factory) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            opened.set()
            release.wait(HANG)
            order.append("first commits")

    def second() -> None:
        with transaction(factory) as session:
            order.append(f"second sees {session.scalar(text('SELECT count(*) FROM t'))}")
            session.execute(text("INSERT INTO t VALUES (2)"))

    one = _in_thread(first)
    assert opened.wait(HANG)
    two = _in_thread(second)
    release.set()
    one.join(HANG)
    two.join(HANG)
    assert order == ["first commits", "second sees 1"]
    assert _count(factory) == 2


@pytest.mark.parametrize("end", ["error", "close without commit"])
def test_the_write_turn_is_given_back_however_a_transaction_ends(factory: sessionmaker[Session], end: str) -> None:
    if end == "error":
        with pytest.raises(RuntimeError), transaction(factory) as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("boom")
    else:
        session = factory()
        session.execute(text("INSERT INTO t VALUES (1)"))
        session.close()

    def write() -> None:
        with transaction(factory) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))

    other = _in_thread(write)  # another thread: it would wait for a turn never given back
    other.join(HANG)
    assert not other.is_alive()
    assert _count(factory) == 1


def test_postgresql_sessions_are_unaffected(database_url: str) -> None:
    engine: Engine = make_engine(database_url)
    with reading(make_sessionmaker(engine)) as session:
        assert session.scalar(text("SELECT 1")) == 1
    engine.dispose()
