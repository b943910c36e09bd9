"""The schema check every command runs: one query, against a constant kept equal to the scripts."""

from __future__ import annotations

from sqlalchemy import text

from mailproc.store.db import make_engine
from mailproc.store.migrate import SCHEMA_HEAD, current_revision, head_revision, is_up_to_date, upgrade


def test_schema_head_constant_is_the_newest_migration_script() -> None:
    assert head_revision() == SCHEMA_HEAD


def test_current_revision_follows_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None  # never migrated
        assert not is_up_to_date(engine)
        upgrade(engine, "0001")
        assert current_revision(engine) == "0001"
        assert not is_up_to_date(engine)
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
        assert is_up_to_date(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
        assert current_revision(engine) is None  # an emptied version table: not up to date
        assert not is_up_to_date(engine)
    finally:
        engine.dispose()


def test_migrations_build_exactly_the_models_schema(database_url: str) -> None:
    """A new index or column in models.py without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mailproc.store.models import Base

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_stored_mail_moves_to_its_own_table_with_its_bytes(database_url: str) -> None:
    """0004: the bytes stored before it are kept, byte for byte, in inbound_raw."""
    from sqlalchemy import inspect

    engine = make_engine(database_url)
    raw = b"From: a@b.vn\r\nSubject: x\r\n\r\n\xff\x00 bytes kept as they came\r\n"
    try:
        upgrade(engine, "0003")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO inbound_messages (id, dedupe_key, sha256, folder, uidvalidity, uid, size, raw, "
                "fetched_at, status, attempts) VALUES (7, 'k', 's', 'INBOX', 1, 1, :size, :raw, :at, 'new', 0)"),
                {"size": len(raw), "raw": raw, "at": "2026-11-25 01:00:00.000000"})
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, raw FROM inbound_raw")).all() == [(7, raw)]
        assert "raw" not in {c["name"] for c in inspect(engine).get_columns("inbound_messages")}
    finally:
        engine.dispose()


def test_mailboxes_migration_keeps_the_poller_state_and_downgrades(database_url: str) -> None:
    """0005: the poller's state keeps its place under the first mailbox (''); down and up again."""
    from mailproc.store.migrate import downgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO mailbox_state (folder, uidvalidity, last_uid, failures) "
                              "VALUES ('INBOX', 5, 42, 0)"))
        upgrade(engine)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT mailbox, folder, last_uid FROM mailbox_state")).all() == [
                ("", "INBOX", 42)]
            # The same folder name in another mailbox is its own row now.
            conn.execute(text("INSERT INTO mailbox_state (mailbox, folder, last_uid, failures) "
                              "VALUES ('khieunai', 'INBOX', 7, 0)"))
        downgrade(engine, "0004")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT folder, last_uid FROM mailbox_state")).all() == [("INBOX", 42)]
        upgrade(engine)
        assert current_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()
