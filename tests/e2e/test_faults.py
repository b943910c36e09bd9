"""Faults are logged once, without customers' data (issue 16, item 6), with a real daemon.

The SQLite database lives on a small tmpfs that the test fills up: the daemon keeps running,
says once that the disk is full (no traceback, no SQL, no customer's name, address or text,
and never "quarantined" when nothing was), and when space comes back it says so once and
every complaint becomes its ticket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from mailproc.store.models import Ticket
from mailproc.testing.devstack import MailStack
from tests.helpers.cli import Workspace, subprocess_env
from tests.helpers.mail import COMPLAINT_BODY, complaint

TMPFS_BYTES = 4 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small-disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES},mode=0755", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    """Fill the file system up to its last byte; the filler is returned, to be removed later."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


def _tickets(url: str) -> int:
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            return int(session.scalar(select(func.count(Ticket.id))) or 0)
    finally:
        engine.dispose()


NAMES = [f"Trần Thị Bích Ngọc {i}" for i in range(3)]
STREETS = [f"{i + 17} ngõ Tràng Tiền" for i in range(3)]


def _complaint(mailbox: str, i: int) -> bytes:
    body = COMPLAINT_BODY.format(name=NAMES[i], card=f"0123 4567 89{i:02d}", phone=f"09123459{i:02d}")
    return complaint(sender=f"{NAMES[i]} <ngoc{i}.{mailbox.split('@')[0]}@example.vn>", to=mailbox,
                     body=body.replace("12 Nguyễn Trãi", STREETS[i]))


def test_a_full_disk_is_one_line_then_one_line_when_it_ends(mailstack: MailStack, shared_mailbox: str,
                                                            tmp_path: Path, small_disk: Path) -> None:
    url = f"sqlite:///{small_disk}/mailproc.sqlite3"
    ws = Workspace(mailstack, shared_mailbox, url, tmp_path)
    ws.configure(scheduler={"poll_seconds": 1, "process_seconds": 1, "send_seconds": 1, "stop_seconds": 5.0},
                 imap={"idle": False}, logging={"level": "INFO"})
    ws.cli("db", "upgrade")
    log_path = tmp_path / "daemon.log"
    with log_path.open("wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "mailproc.cli", "--config", str(ws.config_path), "run"],
                                  stdout=out, stderr=subprocess.STDOUT, env=subprocess_env(), cwd=tmp_path)
        try:
            deadline = time.monotonic() + 30
            while "scheduler lock held" not in log_path.read_text(errors="replace") and time.monotonic() < deadline:
                time.sleep(0.2)
            filler = _fill(small_disk)  # the disk fills up under the running daemon, and complaints arrive
            ws.deliver(*[_complaint(shared_mailbox, i) for i in range(3)])
            time.sleep(10)  # ten runs of every job against a full disk
            assert daemon.poll() is None, log_path.read_text(errors="replace")[-3000:]
            during = log_path.read_text(errors="replace")
            os.unlink(filler)
            deadline = time.monotonic() + 60
            while _tickets(url) < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
            time.sleep(2)
        finally:
            daemon.send_signal(signal.SIGTERM)
            code = daemon.wait(timeout=40)
    log = log_path.read_text(errors="replace")

    assert code == 0, log[-3000:]
    assert _tickets(url) == 3
    full = [line for line in during.splitlines() if "disk is full" in line]
    assert 1 <= len(full) <= 4, during  # once per job that met it, not once per run
    assert all("failed: database or disk unavailable" in line for line in full), full
    assert "Traceback" not in log and "[SQL" not in log
    assert "quarantined inbound" not in log and "quarantined=0" in log  # the reports say 0, nothing more
    for secret in (*NAMES, *STREETS, "Ngọc", "0912345900", "ngoc0."):
        assert secret not in log, secret
    assert "works again" in log
