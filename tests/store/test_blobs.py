"""Large blobs are written a megabyte at a time on SQLite, exactly as given, on both databases."""

from __future__ import annotations

import os

from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, select

from mailproc.store.db import BLOB_CHUNK, insert_blobs, make_engine, make_sessionmaker, transaction


def test_blobs_small_and_large_are_stored_byte_for_byte(database_url: str) -> None:
    engine = make_engine(database_url)
    table = Table("blob_test", MetaData(), Column("id", Integer, primary_key=True, autoincrement=False),
                  Column("raw", LargeBinary))
    table.create(engine)
    rows = [(1, b""), (2, b"x" * 10), (3, os.urandom(BLOB_CHUNK + 1)), (4, os.urandom(3 * BLOB_CHUNK + 12345)),
            (5, b"\0" * BLOB_CHUNK)]
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        insert_blobs(session, table, "raw", rows)
    with transaction(sessions) as session:
        stored = {row_id: bytes(raw) for row_id, raw in session.execute(select(table.c.id, table.c.raw))}
    assert stored == dict(rows)
    table.drop(engine)
    engine.dispose()


def test_a_rolled_back_transaction_leaves_no_blob(database_url: str) -> None:
    engine = make_engine(database_url)
    table = Table("blob_test2", MetaData(), Column("id", Integer, primary_key=True, autoincrement=False),
                  Column("raw", LargeBinary))
    table.create(engine)
    sessions = make_sessionmaker(engine)
    try:
        with transaction(sessions) as session:
            insert_blobs(session, table, "raw", [(1, os.urandom(2 * BLOB_CHUNK))])
            raise RuntimeError("crash before the commit")
    except RuntimeError:
        pass
    with transaction(sessions) as session:
        assert session.execute(select(table.c.id)).all() == []
    table.drop(engine)
    engine.dispose()
