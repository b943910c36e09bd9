"""The schema check every command runs: one query, against a constant kept equal to the scripts."""

from __future__ import annotations

from sqlalchemy import text

from mailproc.db import make_engine
from mailproc.migrate import SCHEMA_HEAD, current_revision, head_revision, is_up_to_date, upgrade


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

    from mailproc.models import Base

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
