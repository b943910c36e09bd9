"""Schema migrations with Alembic: upgrade to head, downgrade, report the current revision, autogenerate.

The scripts live in ``mailproc/migrations``; ``mailproc db upgrade`` calls :func:`upgrade`,
``mailproc db downgrade REV`` :func:`downgrade` (both back a SQLite database up first: see
``store.backup``).
Every command checks the schema first, so that check (:func:`is_up_to_date`) reads the
revision table with one query and compares it with :data:`SCHEMA_HEAD`, without loading
Alembic or its scripts (a test keeps the constant equal to the scripts' head).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SCHEMA_HEAD = "0008"  # the newest script's revision (tests/test_migrate.py checks it)


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    from mailproc.store.db import prepare_sqlite_dir

    prepare_sqlite_dir(engine)
    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (each migration's downgrade keeps what it can)."""
    from alembic import command

    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def revisions() -> list[str]:
    """Every script's revision, oldest first (this project's history is one line)."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


def downgrade_steps(current: str | None, target: str) -> list[str]:
    """The revisions a downgrade from ``current`` to ``target`` ("base": nothing) undoes,
    newest first; ValueError for an unknown target or one that is not below ``current``."""
    known = revisions()
    if target != "base" and target not in known:
        raise ValueError(f"unknown revision {target!r}; known: {', '.join(known)}, base")
    if current is None or current not in known:
        raise ValueError(f"the database is at {current or 'no revision'}: nothing to downgrade")
    start = 0 if target == "base" else known.index(target) + 1
    end = known.index(current) + 1
    if start >= end:
        raise ValueError(f"the database is at {current}, not above {target}: nothing to downgrade")
    return known[start:end][::-1]


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None for a database never migrated."""
    if not _has_version_table(engine):
        return None
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:  # branches: this project has none, but say so rather than pick one
        raise RuntimeError(f"the database has several Alembic heads: {', '.join(sorted(rows))}")
    return rows[0] if rows else None


def _has_version_table(engine: Engine) -> bool:
    from sqlalchemy import inspect

    try:
        return inspect(engine).has_table("alembic_version")
    except DBAPIError:
        return False


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == SCHEMA_HEAD


def autogenerate(engine: Engine, message: str) -> None:  # developer tool: new migration from models
    from alembic import command

    cfg = _alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
