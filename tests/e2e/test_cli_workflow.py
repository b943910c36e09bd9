"""The workflow's one-shot commands (calendar, sweep, digest) and the daemon's single-scheduler lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import Workspace, subprocess_env
from tests.helpers.mail import complaint


def test_calendar_due_prints_the_day_and_what_it_skipped(tmp_path: Path) -> None:
    ws = Workspace.__new__(Workspace)  # only the config file matters here
    ws.tmp_path, ws.overrides = tmp_path, {}
    path = tmp_path / "mailproc.toml"
    path.write_text('[calendar]\nextra_days_off = ["2026-01-02"]\n', encoding="utf-8")
    from tests.helpers.cli import invoke

    result = invoke(path, "calendar", "due", "--from", "2026-02-12", "--days", "5")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "due: 2026-02-26 (26/02/2026)"
    skipped = "\n".join(lines[1:])
    assert "2026-02-14 (14/02/2026): Thứ Bảy" in skipped and "2026-02-17" in skipped and "Tết" in skipped
    # A company day off from the config (02/01/2026, missing from the holidays package).
    result = invoke(path, "calendar", "due", "--from", "2025-12-31", "--days", "1")
    assert result.stdout.splitlines()[0] == "due: 2026-01-05 (05/01/2026)"
    assert "Ngày nghỉ bù/nghỉ theo quy định công ty" in result.stdout


@pytest.mark.e2e
def test_sweep_and_digest_with_now(ws: Workspace) -> None:
    ws.configure(agents=[{"email": "sup@kplus.example", "role": "supervisor"}])  # type: ignore[arg-type]
    ws.deliver(complaint(to=ws.mailbox))
    ws.cli("poll", "--once")
    # Far past both deadlines: the sweep accepts (late) and the breach of the reply deadline is reported.
    result = ws.cli("sweep", "--now", "2027-01-15T09:00:00+07:00")
    assert "auto_accepted=1" in result.stdout and "breaches=1" in result.stdout
    again = ws.cli("sweep", "--now", "2027-01-15T09:05:00+07:00")
    assert "auto_accepted=0" in again.stdout and "breaches=0" in again.stdout
    digest = ws.cli("digest", "--now", "2027-01-15T09:00:00+07:00")
    assert "BÁO CÁO KHIẾU NẠI NGÀY 15/01/2027" in digest.stdout and "L2" in digest.stdout
    assert ws.cli("sweep", "--now", "not-a-date", expect=2).exit_code == 2


def _spawn_run(ws: Workspace, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "-m", "mailproc.cli", "--config", str(ws.config_path), "run"],
                                env=subprocess_env(), cwd=ws.tmp_path, stdout=handle, stderr=subprocess.STDOUT)


def _wait_for(path: Path, text: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
def test_two_daemons_never_both_schedule_and_the_second_takes_over(ws: Workspace) -> None:
    ws.configure(scheduler={"poll_seconds": 1.0, "process_seconds": 1.0, "send_seconds": 1.0},
                 logging={"level": "INFO"})
    first_log, second_log = ws.tmp_path / "first.log", ws.tmp_path / "second.log"
    first = _spawn_run(ws, first_log)
    second: subprocess.Popen[bytes] | None = None
    try:
        assert _wait_for(first_log, "scheduler lock held"), first_log.read_text()
        second = _spawn_run(ws, second_log)
        assert _wait_for(second_log, "standing by"), second_log.read_text()
        assert "scheduler lock held" not in second_log.read_text()
        first.kill()  # dies without releasing anything on purpose
        first.wait(timeout=10)
        assert _wait_for(second_log, "scheduler lock held"), second_log.read_text()
        ws.deliver(complaint(to=ws.mailbox))
        assert _wait_for(second_log, "new_tickets=1"), second_log.read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.mark.e2e
def test_poll_process_send_accept_now(ws: Workspace) -> None:
    ws.deliver(complaint(to=ws.mailbox))
    ws.cli("poll", "--once", "--now", "2026-12-01T10:00:00+07:00")
    (ticket,) = ws.json("tickets", "list", "--json")
    assert ticket["received_at"] == "2026-12-01T10:00:00+07:00"  # no Received stamp: the poll's clock
    assert ticket["accept_due"] == "2026-12-08"
    ws.cli("process", "--once", "--now", "2026-12-01T10:05:00")
    ws.cli("send", "--once", "--now", "2026-12-01T10:06:00+07:00")
    assert [o["status"] for o in ws.json("outbox", "list", "--json")] == ["sent"]
