"""Column types: aware datetimes stored as UTC and read back aware, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, insert, select, text
from sqlalchemy.dialects import sqlite

from mailproc.store.models import UTCDateTime

ICT = timezone(timedelta(hours=7))
MOMENTS = [datetime(2026, 11, 20, 3, 4, 5, 678, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=ICT),
           datetime(2026, 5, 5, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))]


def test_sqlite_text_is_exactly_what_sqlalchemys_datetime_stores() -> None:
    dialect = sqlite.dialect()
    ours = UTCDateTime().bind_processor(dialect)
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert ours is not None and theirs is not None
    for moment in MOMENTS:
        assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_round_trip_in_utc_and_naive_values_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    table = Table("moments", MetaData(), Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "at": m} for i, m in enumerate(MOMENTS)])
        back = list(conn.scalars(select(table.c.at).order_by(table.c.id)))
        if engine.dialect.name == "sqlite":
            stored = conn.scalar(text("SELECT at FROM moments WHERE id = 1"))
            assert stored == "2025-12-31 17:00:00.000000"  # UTC, in SQLAlchemy's own format
    assert back == MOMENTS and all(m.tzinfo is not None and m.utcoffset() == timedelta(0) for m in back)
    with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
        conn.execute(insert(table), [{"id": 9, "at": datetime(2026, 1, 1)}])
    table.drop(engine)
    engine.dispose()
