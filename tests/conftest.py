"""Shared fixtures: a real Dovecot + SMTP stack on loopback, SQLite and PostgreSQL databases.

One mail stack serves the whole session; every test gets its own shared-mailbox user (any
username logs in), so tests never see each other's mail. Database tests run on SQLite and,
when ``MAILPROC_TEST_DATABASE_URL`` is set, on PostgreSQL too (a fresh schema per test).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailproc.app import App
from mailproc.config import Config
from mailproc.store.migrate import upgrade
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.cli import Workspace

PG_URL = os.environ.get("MAILPROC_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


@pytest.fixture(scope="session")
def mailstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    with MailStack(base_dir=tmp_path_factory.mktemp("mailstack")) as stack:
        yield stack


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/mailproc.sqlite3"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def shared_mailbox() -> str:
    return f"cskh.{uuid.uuid4().hex[:10]}@kplus.example"


@pytest.fixture
def config(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path) -> Config:
    return make_config(mailstack, shared_mailbox, database_url, tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(config: Config, clock: Clock) -> Iterator[App]:
    application = App.build(config, now=clock)
    upgrade(application.engine)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def ws(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path) -> Workspace:
    """A CLI workspace: its config file written and its database migrated."""
    workspace = Workspace(mailstack, shared_mailbox, database_url, tmp_path)
    workspace.configure()
    workspace.cli("db", "upgrade")
    return workspace
