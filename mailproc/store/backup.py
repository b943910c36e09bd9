"""Backups of the database: ``mailproc db backup PATH`` and the copy taken before a migration.

SQLite: the online backup API copies a consistent snapshot while the daemon keeps writing
(WAL readers block nobody), into a private temporary file that is checked
(``PRAGMA integrity_check``), made a single self-contained file (rollback journal, not WAL)
and only then renamed to PATH. PostgreSQL: ``pg_dump --format=custom`` with the URL's
connection parameters, the password in the environment (``PGPASSWORD``), never on a
command line or in a message; the archive is then listed by ``pg_restore`` as its check.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from mailproc.errors import MailprocError
from mailproc.store.db import sqlite_file

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"  # Debian keeps the client tools off PATH but for the default version
PG_DUMP_TIMEOUT = 6 * 3600.0


class BackupError(MailprocError):
    """A backup could not be taken or did not check out; the message says what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    check: str  # what was checked: "integrity_check ok", "pg_restore --list: N entries"


def backup_database(url: str, dest: Path, *, overwrite: bool = False,
                    env: Mapping[str, str] | None = None) -> Backup:
    """Back the database at ``url`` up to ``dest`` (SQLite file or pg_dump archive)."""
    if dest.exists() and not overwrite:
        raise BackupError(f"{dest} exists (choose another path, or --force to replace it)")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = sqlite_file(url)
        if source is None:
            raise BackupError("an in-memory SQLite database cannot be backed up")
        return backup_sqlite(source, dest)
    if parsed.get_backend_name() == "postgresql":
        return backup_postgresql(parsed, dest, env=os.environ if env is None else env)
    raise BackupError(f"no backup method for {parsed.get_backend_name()} databases")


def _private_file(path: Path) -> None:
    """Create ``path`` empty, readable by mailproc's user only (customers' data is in it)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise BackupError(f"cannot write the backup in {path.parent}: {exc.strerror or exc}") from exc


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


def _publish(partial: Path, dest: Path) -> int:
    """fsync the finished copy, rename it into place, fsync the folder: a crash leaves
    either the old PATH or the whole new one, never half a backup under its name."""
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, dest)
    folder = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return dest.stat().st_size


def backup_sqlite(source: Path, dest: Path) -> Backup:
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    partial = _partial(dest)
    _private_file(partial)
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)  # never creates one
        try:
            copy = sqlite3.connect(partial)
            try:
                src.backup(copy)  # one step: one read transaction, a consistent snapshot
                copy.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal/-shm beside it
                result = [row[0] for row in copy.execute("PRAGMA integrity_check")]
            finally:
                copy.close()
        finally:
            src.close()
        if result != ["ok"]:
            raise BackupError(f"the copy of {source} failed its integrity check: {'; '.join(result[:5])}")
        size = _publish(partial, dest)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"SQLite backup of {source} failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dest, size, "integrity_check ok")


def pg_tool(name: str) -> str | None:
    """``pg_dump``/``pg_restore`` on PATH, else Debian's newest under /usr/lib/postgresql
    (a newer pg_dump reads older servers, not the other way round)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = [Path(d) / name for d in glob.glob(PG_BIN_GLOB)]
    candidates = [c for c in candidates if os.access(c, os.X_OK)]

    def version(path: Path) -> tuple[int, ...]:
        digits = path.parent.parent.name
        return tuple(int(p) for p in digits.split(".") if p.isdigit())

    return str(max(candidates, key=version)) if candidates else None


def libpq_target(url: URL) -> tuple[str, str | None]:
    """The libpq URI (driver and password taken out; host, port, user, database and query
    options kept) and the password, for PGPASSWORD."""
    # (URL.set(password=None) would keep the password: None there means "unchanged".)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                       query=url.query)
    return plain.render_as_string(hide_password=False), str(url.password) if url.password else None


_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*(\S+)")


def schemas_of(url: URL) -> list[str]:
    """The schemas named by the URL's ``options=-csearch_path=…`` (where mailproc's tables are,
    when the database is shared): pg_dump then dumps only those. None named: the whole database."""
    options = url.query.get("options", ())
    found: list[str] = []
    for option in [options] if isinstance(options, str) else list(options):
        for match in _SEARCH_PATH.finditer(option):
            names = (name.strip().strip('"') for name in match[1].split(","))
            found += [name for name in names if name and name != "$user"]
    return found


def pg_dump_recipe(url: URL, dest: Path) -> str:
    target, password = libpq_target(url)
    secret = "PGPASSWORD=… " if password else ""
    return f"{secret}pg_dump --format=custom --file {dest} '{target}'"


def backup_postgresql(url: URL, dest: Path, *, env: Mapping[str, str]) -> Backup:
    pg_dump = pg_tool("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump was not found (Debian: apt-get install postgresql-client); "
                          f"run it yourself: {pg_dump_recipe(url, dest)}")
    target, password = libpq_target(url)
    child_env = {k: v for k, v in env.items() if k != "PGPASSWORD"}
    if password:
        child_env["PGPASSWORD"] = password
    partial = _partial(dest)
    _private_file(partial)
    try:
        schemas = [f"--schema={name}" for name in schemas_of(url)]
        done = subprocess.run([pg_dump, "--format=custom", "--no-password", *schemas, f"--file={partial}", target],
                              env=child_env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT, check=False)
        if done.returncode != 0:
            raise BackupError(f"pg_dump ({pg_dump}) failed with exit code {done.returncode}: "
                              f"{_last_lines(done.stderr)}")
        check = _list_archive(partial)
        size = _publish(partial, dest)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"pg_dump did not finish in {PG_DUMP_TIMEOUT:.0f} s") from exc
    except OSError as exc:
        raise BackupError(f"pg_dump ({pg_dump}) could not run or its archive not be moved to {dest}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dest, size, check)


def _list_archive(path: Path) -> str:
    pg_restore = pg_tool("pg_restore")
    if pg_restore is None:
        return "not checked (no pg_restore)"
    done = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True, timeout=600,
                          check=False)
    if done.returncode != 0:
        raise BackupError(f"the pg_dump archive does not read back: {_last_lines(done.stderr)}")
    entries = sum(1 for line in done.stdout.splitlines() if line and not line.startswith(";"))
    return f"pg_restore --list: {entries} entries"


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:])[:600] or "(no message)"


def migration_backup_path(state_dir: Path, revision: str, now: datetime) -> Path:
    """STATE_DIR/backups/mailproc-YYYYmmdd-HHMMSS-before-REV.sqlite3 (``now`` in local time)."""
    return state_dir / "backups" / f"mailproc-{now:%Y%m%d-%H%M%S}-before-{revision}.sqlite3"


def backup_before_migration(engine: Engine, state_dir: Path, revision: str, now: datetime) -> Backup | None:
    """A SQLite database that has a schema, backed up before it is migrated to ``revision``;
    None when there is nothing to keep (no file yet, a file never migrated) or for
    PostgreSQL (pg_dump it first: ``mailproc db backup``)."""
    from mailproc.store.migrate import current_revision

    source = sqlite_file(engine.url.render_as_string(hide_password=False))
    if source is None or not source.is_file() or current_revision(engine) is None:
        return None
    return backup_sqlite(source, migration_backup_path(state_dir, revision, now))
