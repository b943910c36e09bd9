"""Backups: ``mailproc db backup PATH`` on SQLite (the online backup API, checked) and on
PostgreSQL (pg_dump, read back by pg_restore); the backup ``db upgrade`` and ``db downgrade``
take of a SQLite database before they change its schema."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mailproc.store import backup as backup_mod
from mailproc.store.backup import BackupError, backup_database, libpq_target, pg_tool
from mailproc.store.db import make_engine
from mailproc.store.migrate import SCHEMA_HEAD, current_revision, downgrade_steps, revisions, upgrade
from tests.helpers.cli import invoke, toml_text


def migrated(url: str, revision: str = "head", rows: int = 3) -> None:
    """A database at ``revision`` with ``rows`` stored mails' rows in it."""
    engine = make_engine(url)
    try:
        upgrade(engine, revision)
        with engine.begin() as conn:
            for n in range(rows):
                conn.execute(text(
                    "INSERT INTO inbound_messages (dedupe_key, sha256, folder, uidvalidity, uid, size, fetched_at, "
                    "status, attempts) VALUES (:k, :k, 'INBOX', 1, :n, 10, '2026-11-02 02:00:00', 'new', 0)"),
                    {"k": f"key{n}", "n": n + 1})
    finally:
        engine.dispose()


def stored(path: Path) -> tuple[str, int]:
    """The revision and the number of stored mails in a SQLite file."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        (count,) = conn.execute("SELECT count(*) FROM inbound_messages").fetchone()
        return revision, count
    finally:
        conn.close()


def write_config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "mailproc.toml"
    config.write_text(toml_text({"paths": {"state_dir": str(tmp_path / "state")}, "database": {"url": url},
                                 "scheduler": {"lock_file": str(tmp_path / "mailproc.lock")}}), encoding="utf-8")
    return config


# --- SQLite ------------------------------------------------------------------------------

def test_sqlite_backup_is_a_checked_private_single_file_copy_taken_online(tmp_path: Path) -> None:
    db = tmp_path / "mailproc.sqlite3"
    migrated(f"sqlite:///{db}")
    writer = sqlite3.connect(db, isolation_level=None)  # the daemon, in the middle of a write
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM inbound_messages")
        dest = tmp_path / "out" / "copy.sqlite3"
        taken = backup_database(f"sqlite:///{db}", dest)
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert taken.path == dest and taken.size == dest.stat().st_size > 0
    assert taken.check == "integrity_check ok"
    assert stored(dest) == (SCHEMA_HEAD, 3)  # the last commit, not the write in progress
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # no -wal file needed beside it
    finally:
        conn.close()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["copy.sqlite3"]  # no partial file left

    with pytest.raises(BackupError, match="exists"):
        backup_database(f"sqlite:///{db}", dest)
    migrated(f"sqlite:///{db}", rows=0)  # (a second upgrade is a no-op)
    assert backup_database(f"sqlite:///{db}", dest, overwrite=True).size > 0


def test_sqlite_backup_of_a_missing_or_broken_database_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database at"):
        backup_database(f"sqlite:///{tmp_path}/none.sqlite3", tmp_path / "copy.sqlite3")
    assert not (tmp_path / "none.sqlite3").exists()  # looking did not create one
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(BackupError, match=r"SQLite backup of .* failed"):
        backup_database(f"sqlite:///{junk}", tmp_path / "copy.sqlite3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.sqlite3"]


def test_db_backup_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mailproc.sqlite3"
    migrated(url)
    config = write_config(tmp_path, url)
    result = invoke(config, "db", "backup", str(tmp_path / "b.sqlite3"))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"backup: {tmp_path / 'b.sqlite3'} (") and "integrity_check ok" in result.stdout
    again = invoke(config, "db", "backup", str(tmp_path / "b.sqlite3"))
    assert again.exit_code == 1 and "exists" in again.output
    assert invoke(config, "db", "backup", "--force", str(tmp_path / "b.sqlite3")).exit_code == 0


def backups(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "state" / "backups").glob("*")) if (tmp_path / "state" / "backups").exists() else []


def test_db_upgrade_backs_up_a_sqlite_database_with_migrations_to_apply(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mailproc.sqlite3"
    older = revisions()[-2]
    migrated(url, older)
    config = write_config(tmp_path, url)

    result = invoke(config, "db", "upgrade")
    assert result.exit_code == 0, result.output
    (copy,) = backups(tmp_path)
    assert copy.name.startswith("mailproc-") and copy.name.endswith(f"-before-{SCHEMA_HEAD}.sqlite3")
    assert result.stdout.startswith(f"backup: {copy} (")
    assert stored(copy) == (older, 3)  # as it was before the migration
    assert stored(tmp_path / "mailproc.sqlite3") == (SCHEMA_HEAD, 3)

    assert invoke(config, "db", "upgrade").exit_code == 0  # nothing to apply: no backup
    assert len(backups(tmp_path)) == 1


def test_db_upgrade_takes_no_backup_of_a_new_database_or_when_told_not_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mailproc.sqlite3"
    config = write_config(tmp_path, url)
    result = invoke(config, "db", "upgrade")  # a new database: nothing to keep
    assert result.exit_code == 0 and "backup" not in result.output
    assert backups(tmp_path) == []

    (tmp_path / "mailproc.sqlite3").unlink()
    migrated(url, revisions()[-2])
    result = invoke(config, "db", "upgrade", "--no-backup")
    assert result.exit_code == 0 and "backup" not in result.output
    assert backups(tmp_path) == []
    assert stored(tmp_path / "mailproc.sqlite3")[0] == SCHEMA_HEAD


def test_a_failed_backup_leaves_the_schema_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mailproc.sqlite3"
    migrated(url, revisions()[-2])
    config = write_config(tmp_path, url)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "backups").write_text("a file where the folder should be")
    result = invoke(config, "db", "upgrade")
    assert result.exit_code == 1
    assert "the schema was not changed (--no-backup to go on without one)" in result.output
    assert stored(tmp_path / "mailproc.sqlite3")[0] == revisions()[-2]


def test_db_downgrade_backs_up_then_takes_the_schema_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/mailproc.sqlite3"
    migrated(url)
    config = write_config(tmp_path, url)
    older = revisions()[-2]

    result = invoke(config, "db", "downgrade", older)
    assert result.exit_code == 0, result.output
    (copy,) = backups(tmp_path)
    assert copy.name.endswith(f"-before-{older}.sqlite3") and stored(copy) == (SCHEMA_HEAD, 3)
    assert result.stdout.splitlines()[-1] == f"undid {SCHEMA_HEAD}; database at revision {older}"
    assert stored(tmp_path / "mailproc.sqlite3") == (older, 3)
    refused = invoke(config, "stats")
    assert refused.exit_code == 1 and "mailproc db upgrade" in refused.output  # not up to date: commands refuse

    for rev, why in ((older, f"at {older}, not above {older}"), ("9999", "unknown revision '9999'"),
                     (SCHEMA_HEAD, f"at {older}, not above {SCHEMA_HEAD}")):
        result = invoke(config, "db", "downgrade", rev)
        assert result.exit_code == 1 and why in result.output, result.output
    assert invoke(config, "db", "upgrade", "--no-backup").exit_code == 0
    assert stored(tmp_path / "mailproc.sqlite3") == (SCHEMA_HEAD, 3)


def test_downgrade_steps() -> None:
    known = revisions()
    assert known[0] == "0001" and known[-1] == SCHEMA_HEAD
    assert downgrade_steps(SCHEMA_HEAD, known[-3]) == [known[-1], known[-2]]
    assert downgrade_steps("0002", "base") == ["0002", "0001"]
    with pytest.raises(ValueError, match="no revision"):
        downgrade_steps(None, "0001")


# --- PostgreSQL ----------------------------------------------------------------------------

def test_backup_of_either_database_reads_back(database_url: str, tmp_path: Path) -> None:
    """pg_dump when PostgreSQL is tested (MAILPROC_TEST_DATABASE_URL), the backup API otherwise."""
    migrated(database_url)
    is_pg = make_url(database_url).get_backend_name() == "postgresql"
    if is_pg and pg_tool("pg_dump") is None:
        pytest.skip("no pg_dump on this machine")
    dest = tmp_path / ("mailproc.dump" if is_pg else "copy.sqlite3")
    taken = backup_database(database_url, dest)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    if not is_pg:
        assert stored(dest) == (SCHEMA_HEAD, 3)
        return
    assert dest.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert taken.check.startswith("pg_restore --list: ")
    assert int(taken.check.rsplit(" ", 2)[-2]) > 10  # tables, indexes, constraints, data


def test_the_postgresql_password_goes_by_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in pg_dump (a script on PATH) records its arguments and PGPASSWORD."""
    url = "postgresql+psycopg://mailproc:s3cr%40t@db.example:5433/mailproc?sslmode=require"
    target, password = libpq_target(make_url(url))
    assert (target, password) == ("postgresql://mailproc@db.example:5433/mailproc?sslmode=require", "s3cr@t")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    (bin_dir / "pg_dump").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {record}; echo "PGPASSWORD=$PGPASSWORD" >> {record}\n'
        'for a in "$@"; do case "$a" in --file=*) printf "PGDMP fake" > "${a#--file=}";; esac; done\n')
    (bin_dir / "pg_restore").write_text("#!/bin/sh\necho 'TABLE public tickets'\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("PGPASSWORD", "from-the-operators-shell")  # replaced by the URL's

    taken = backup_database(url, tmp_path / "x.dump")
    args = record.read_text().splitlines()
    assert args[-1] == "PGPASSWORD=s3cr@t"
    assert not [a for a in args[:-1] if "s3cr" in a]  # not on the command line
    assert args[:-1] == ["--format=custom", "--no-password", f"--file={tmp_path / '.x.dump.partial'}", target]
    assert (taken.check, (tmp_path / "x.dump").read_bytes()) == ("pg_restore --list: 1 entries", b"PGDMP fake")

    (bin_dir / "pg_dump").write_text("#!/bin/sh\necho 'pg_dump: error: connection failed' >&2\nexit 1\n")
    with pytest.raises(BackupError, match="exit code 1: pg_dump: error: connection failed"):
        backup_database(url, tmp_path / "y.dump")
    assert not (tmp_path / "y.dump").exists() and not (tmp_path / ".y.dump.partial").exists()


def test_without_pg_dump_the_error_gives_the_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backup_mod, "pg_tool", lambda name: None)
    url = "postgresql+psycopg://mailproc:hunter2@db.example/mailproc"
    with pytest.raises(BackupError) as caught:
        backup_database(url, tmp_path / "x.dump")
    message = str(caught.value)
    assert "hunter2" not in message
    assert message == ("pg_dump was not found (Debian: apt-get install postgresql-client); run it yourself: "
                       f"PGPASSWORD=… pg_dump --format=custom --file {tmp_path / 'x.dump'} "
                       "'postgresql://mailproc@db.example/mailproc'")


def test_debians_pg_dump_is_found_off_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    found = pg_tool("pg_dump")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")):
        assert found is None
    else:
        assert found is not None and found.startswith("/usr/lib/postgresql/") and found.endswith("/bin/pg_dump")


def test_current_revision_of_a_backup_copy_is_readable_by_the_app(tmp_path: Path) -> None:
    """A backup is a mailproc database: point database.url at it and it works."""
    migrated(f"sqlite:///{tmp_path}/a.sqlite3")
    backup_database(f"sqlite:///{tmp_path}/a.sqlite3", tmp_path / "b.sqlite3")
    engine = make_engine(f"sqlite:///{tmp_path}/b.sqlite3")
    try:
        assert current_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()


def test_the_schemas_of_a_shared_database_are_the_ones_dumped() -> None:
    from sqlalchemy.engine import make_url

    from mailproc.store.backup import schemas_of

    assert schemas_of(make_url("postgresql+psycopg://u@h/db")) == []
    assert schemas_of(make_url("postgresql+psycopg://u@h/db?options=-csearch_path%3Dt_abc")) == ["t_abc"]
    assert schemas_of(make_url('postgresql+psycopg://u@h/db?options=-c%20search_path%3D%22$user%22,mp')) == ["mp"]
