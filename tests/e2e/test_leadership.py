"""Fenced leadership (issue 16, item 3): two real daemons, one scheduling at any time.

The leader confirms its lock before each job (and every few seconds between jobs) and steps
down when it has lost it; a standby survives a database outage and keeps waiting. Tested on a
PostgreSQL of the test's own (restarted, and the leader's backend terminated: never the
machine's shared server) and on SQLite's lock file (removed under the leader).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from mailproc.ops.holder import ADVISORY_LOCK_ID
from mailproc.testing.devstack import MailStack
from tests.helpers import pg
from tests.helpers.cli import Workspace, subprocess_env

LEAD = "scheduler lock held"
STEP_DOWN = "stepping down"


class Daemon:
    def __init__(self, ws: Workspace, name: str) -> None:
        self.log = ws.tmp_path / f"{name}.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "mailproc.cli", "--config", str(ws.config_path), "run"],
                                     stdout=self._out, stderr=subprocess.STDOUT, env=subprocess_env(),
                                     cwd=ws.tmp_path)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def leading(self) -> bool:
        """Took the lock more often than it stepped down: it schedules now."""
        log = self.text()
        return log.count(LEAD) > log.count(STEP_DOWN)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=40)
        finally:
            self._out.close()
        return code


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _one_leader(daemons: list[Daemon]) -> Daemon:
    _until(lambda: sum(d.leading() for d in daemons) == 1, 45, "exactly one leader")
    time.sleep(6)  # and it stays that way (no second leader appears after a fence interval)
    leaders = [d for d in daemons if d.leading()]
    assert len(leaders) == 1, [d.text()[-2000:] for d in daemons]
    assert all(d.proc.poll() is None for d in daemons), [d.text()[-3000:] for d in daemons]
    return leaders[0]


def _workspace(stack: MailStack, mailbox: str, url: str, tmp_path: Path) -> Workspace:
    ws = Workspace(stack, mailbox, url, tmp_path)
    ws.configure(scheduler={"poll_seconds": 1, "process_seconds": 1, "send_seconds": 1, "stop_seconds": 5.0},
                 imap={"idle": False}, logging={"level": "INFO"})
    ws.cli("db", "upgrade")
    return ws


@pytest.fixture(scope="module")
def private_pg() -> Iterator[pg.PrivatePostgres]:
    reason = pg.available()
    if reason:
        pytest.skip(reason)
    with pg.PrivatePostgres() as server:
        yield server


@pytest.fixture
def pg_daemons(private_pg: pg.PrivatePostgres, mailstack: MailStack, shared_mailbox: str,
               tmp_path: Path) -> Iterator[list[Daemon]]:
    ws = _workspace(mailstack, shared_mailbox, private_pg.url, tmp_path)
    daemons = [Daemon(ws, "first"), Daemon(ws, "second")]
    try:
        yield daemons
    finally:
        codes = [d.stop() for d in daemons]
        assert codes == [0, 0], [d.text()[-3000:] for d in daemons]


def _holder_backends(url: str) -> list[int]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid)"),
                {"hi": ADVISORY_LOCK_ID >> 32, "lo": ADVISORY_LOCK_ID & 0xFFFFFFFF}).scalars())
    finally:
        engine.dispose()


def test_the_leaders_backend_terminated_makes_it_step_down(private_pg: pg.PrivatePostgres,
                                                           pg_daemons: list[Daemon]) -> None:
    first = _one_leader(pg_daemons)
    (backend,) = _holder_backends(private_pg.url)

    engine = create_engine(private_pg.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": backend}).scalar()
    engine.dispose()

    _until(lambda: STEP_DOWN in first.text(), 30, "the old leader to step down")
    _one_leader(pg_daemons)
    assert len(_holder_backends(private_pg.url)) == 1


def test_a_postgresql_restart_leaves_exactly_one_leader_and_the_standby_alive(
        private_pg: pg.PrivatePostgres, pg_daemons: list[Daemon]) -> None:
    first = _one_leader(pg_daemons)
    standby = next(d for d in pg_daemons if d is not first)
    _until(lambda: "standing by" in standby.text(), 30, "the standby to wait")

    private_pg.restart()

    _until(lambda: STEP_DOWN in first.text(), 30, "the old leader to notice its lock is gone")
    _one_leader(pg_daemons)
    assert len(_holder_backends(private_pg.url)) == 1
    assert "Traceback" not in standby.text()


def test_the_lock_file_removed_under_the_leader_leaves_exactly_one_leader(
        mailstack: MailStack, shared_mailbox: str, tmp_path: Path) -> None:
    ws = _workspace(mailstack, shared_mailbox, f"sqlite:///{tmp_path}/mailproc.sqlite3", tmp_path)
    daemons = [Daemon(ws, "first"), Daemon(ws, "second")]
    try:
        first = _one_leader(daemons)
        lock_file = Path(re.search(r'lock_file = "([^"]+)"', ws.config_path.read_text())[1])  # type: ignore[index]
        lock_file.unlink()

        _until(lambda: STEP_DOWN in first.text(), 30, "the leader to notice its lock file is gone")
        _one_leader(daemons)
    finally:
        codes = [d.stop() for d in daemons]
    assert codes == [0, 0], [d.text()[-3000:] for d in daemons]
