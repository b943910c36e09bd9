"""mailproc as a service: the systemd unit, sd_notify, and stopping on SIGTERM, with the real
daemon (``mailproc run`` in a subprocess) against the real mail stack.

The service manager is played by a datagram socket named in ``$NOTIFY_SOCKET``, as systemd
does; a slow or hanging SMTP server is an aiosmtpd controller on loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from mailproc.config import SchedulerConfig
from mailproc.store.models import OutboxItem
from tests.helpers.cli import Workspace, customer, free_port, subprocess_env
from tests.helpers.mail import complaint

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "mailproc.service"


# --- the unit file -------------------------------------------------------------------------

def _unit_values(key: str) -> list[str]:
    return [line.split("=", 1)[1].strip() for line in UNIT.read_text(encoding="utf-8").splitlines()
            if line.startswith(f"{key}=")]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (Debian package 'systemd'; scripts/setup.sh adds it)")
def test_the_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart's program exists: point it at this checkout's mailproc.
    unit = tmp_path / "mailproc.service"
    mailproc = Path(sys.executable).with_name("mailproc")
    unit.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/mailproc/venv/bin/mailproc", str(mailproc)),
                    encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                            timeout=60, check=False)
    ours = [line for line in (result.stdout + result.stderr).splitlines() if "mailproc.service" in line]
    assert result.returncode == 0 and not ours, result.stdout + result.stderr


def test_the_unit_is_a_hardened_notify_service_whose_stop_timeout_covers_the_stop_bound() -> None:
    assert _unit_values("Type") == ["notify"]
    assert _unit_values("WatchdogSec")
    assert _unit_values("User") == ["mailproc"]
    for key, value in [("ProtectSystem", "strict"), ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                       ("ProtectHome", "yes"), ("ReadWritePaths", "/var/lib/mailproc"),
                       ("StateDirectory", "mailproc"), ("KillMode", "mixed")]:
        assert _unit_values(key) == [value], key
    stop_timeout = float(_unit_values("TimeoutStopSec")[0].removesuffix("s"))
    assert stop_timeout >= SchedulerConfig().stop_seconds + 5
    assert _unit_values("EnvironmentFile") == ["-/etc/mailproc/mailproc.env"]
    assert (ROOT / "deploy" / "mailproc.env.example").is_file()


# --- the service manager's side of sd_notify -------------------------------------------------

class NotifySocket:
    """What systemd listens on: every datagram's ``KEY=value`` lines, in order."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="sdn", dir="/tmp")  # AF_UNIX paths are short
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, OSError):
                continue
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._cond:
                self.messages.append(fields)
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, str]], bool], timeout: float = 30.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such notification; got {self.messages}")
                self._cond.wait(left)

    def count(self, key: str) -> int:
        with self._cond:
            return sum(key in m for m in self.messages)

    def close(self) -> None:
        self._closed = True
        self._thread.join(2)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def notify() -> Iterator[NotifySocket]:
    sock = NotifySocket()
    try:
        yield sock
    finally:
        sock.close()


class Daemon:
    """``mailproc run`` in a subprocess, its stderr in a file."""

    def __init__(self, ws: Workspace, notify: NotifySocket | None, name: str = "daemon", **env: str) -> None:
        self.log = ws.tmp_path / f"{name}.log"
        environment = {**subprocess_env(), **env}
        if notify is not None:
            environment["NOTIFY_SOCKET"] = notify.path
        with self.log.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "mailproc.cli", "--config", str(ws.config_path), "run"],
                                         env=environment, cwd=ws.tmp_path, stdout=subprocess.DEVNULL, stderr=err)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def terminate(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- an SMTP server that takes its time ------------------------------------------------------

class SlowHandler:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.accepted = 0
        self.data_started = threading.Event()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_started.set()
        await asyncio.sleep(self.delay)
        with self._lock:
            self.accepted += 1
        return "250 OK"


@pytest.fixture
def slow_smtp() -> Iterator[Callable[[float], tuple[SlowHandler, int]]]:
    controllers: list[Controller] = []

    def start(delay: float) -> tuple[SlowHandler, int]:
        handler = SlowHandler(delay)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


def _outbox(ws: Workspace) -> list[tuple[str, int]]:
    with ws.session() as session:
        return [(o.status, o.attempts) for o in session.scalars(select(OutboxItem).order_by(OutboxItem.id))]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- SIGTERM -------------------------------------------------------------------------------

def test_sigterm_while_sending_stops_within_the_bound_and_charges_no_queued_notice(
        ws: Workspace, notify: NotifySocket, slow_smtp: Callable[[float], tuple[SlowHandler, int]]) -> None:
    handler, port = slow_smtp(0.2)
    ws.configure(smtp={"host": "127.0.0.1", "port": port}, scheduler={"stop_seconds": 4.0, "analysis_workers": 1})
    ws.deliver(*(complaint(sender=customer()) for _ in range(40)))
    daemon = Daemon(ws, notify)
    try:
        ready = notify.wait_for(lambda m: m.get("READY") == "1")
        assert ready["STATUS"].startswith("scheduling")
        wait_until(lambda: handler.accepted >= 5, what="some receipts sent")
        code, took = daemon.terminate()
    finally:
        daemon.kill()
    log = daemon.text()
    assert code == 0, log
    assert took < 4.0 + 2.0, log
    assert "Traceback" not in log
    assert notify.wait_for(lambda m: m.get("STOPPING") == "1")
    lines = _lines(log)
    assert lines[-1].endswith("mailproc stopped"), log
    assert any("stopping: no new work" in line for line in lines[:-1])
    rows = _outbox(ws)
    assert len(rows) == 40
    sent = [r for r in rows if r[0] == "sent"]
    assert len(sent) == handler.accepted  # nothing handed over and then abandoned
    assert 5 <= len(sent) < 40
    assert all(attempts == 1 for _, attempts in sent)
    assert all(status == "queued" and attempts == 0 for status, attempts in rows if status != "sent"), rows


def test_a_job_stuck_past_the_bound_is_left_and_the_daemon_still_exits_0(
        ws: Workspace, notify: NotifySocket, slow_smtp: Callable[[float], tuple[SlowHandler, int]]) -> None:
    handler, port = slow_smtp(30.0)  # the server never answers the DATA in time
    ws.configure(smtp={"host": "127.0.0.1", "port": port, "timeout": 60.0},
                 scheduler={"stop_seconds": 2.0, "analysis_workers": 1})
    ws.deliver(complaint(sender=customer()))
    daemon = Daemon(ws, notify)
    try:
        assert handler.data_started.wait(60), daemon.text()
        code, took = daemon.terminate()
    finally:
        daemon.kill()
    log = daemon.text()
    assert code == 0, log
    assert 2.0 <= took < 2.0 + 2.5, log
    assert re.search(r"WARNING .*still running after 2s: send", log), log
    assert _lines(log)[-1].endswith("mailproc stopped"), log


def test_a_standby_says_it_waits_once_reports_ready_and_exits_0_quietly(
        ws: Workspace, notify: NotifySocket) -> None:
    ws.configure(scheduler={"analysis_workers": 1})
    leader = Daemon(ws, notify, name="leader", WATCHDOG_USEC="600000")
    second = NotifySocket()
    standby: Daemon | None = None
    try:
        notify.wait_for(lambda m: m.get("READY") == "1")
        # The watchdog is fed by the scheduler's heartbeat: every 0.2 s here.
        wait_until(lambda: notify.count("WATCHDOG") >= 4, timeout=10, what="watchdog pings")
        standby = Daemon(ws, second, name="standby", WATCHDOG_USEC="600000")
        ready = second.wait_for(lambda m: m.get("READY") == "1")
        assert ready["STATUS"].startswith("standby")
        time.sleep(6)  # more than one try at the lock (every 5 s)
        code, took = standby.terminate()
        assert code == 0 and took < 3
        code, _ = leader.terminate()
        assert code == 0
    finally:
        leader.kill()
        if standby is not None:
            standby.kill()
        second.close()
    log = standby.text()
    assert "Traceback" not in log
    assert len(re.findall("standing by until it is free", log)) == 1, log
    assert _lines(log)[-1].endswith("mailproc stopped (it was standing by)"), log
    assert second.count("WATCHDOG") >= 2  # the standby's wait feeds it too
    assert _lines(leader.text())[-1].endswith("mailproc stopped")


# --- health ----------------------------------------------------------------------------------

def _health(ws: Workspace, *args: str) -> tuple[int, dict[str, Any]]:
    result = ws.spawn("health", "--json", *args)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def test_health_follows_the_daemon_from_first_poll_to_stop(ws: Workspace, notify: NotifySocket) -> None:
    ws.configure(scheduler={"analysis_workers": 1})
    code, before = _health(ws)
    assert code == 1 and before["healthy"] is False
    assert "mailbox INBOX: never polled successfully" in before["reasons"]
    assert "no mailproc daemon holds the scheduler lock" in before["reasons"]

    daemon = Daemon(ws, notify)
    try:
        notify.wait_for(lambda m: m.get("READY") == "1")
        wait_until(lambda: _health(ws)[0] == 0, timeout=30, what="a healthy daemon")
        code, report = _health(ws)
        assert report["reasons"] == []
        facts = report["facts"]
        assert facts["last_poll_ok_at"] and facts["oldest_queued_age_s"] is None
        assert facts["scheduler"]["held"] is True and f"pid {daemon.proc.pid}" in facts["scheduler"]["holder"]
        human = ws.spawn("health")
        assert human.returncode == 0 and human.stdout.startswith("healthy")
        # Judged as of an hour later, the last poll is too old.
        later = (datetime.fromisoformat(facts["now"]) + timedelta(hours=1)).isoformat()
        code, then = _health(ws, "--now", later)
        assert code == 1 and any(r.startswith("mailbox INBOX: last good poll 60 min ago") for r in then["reasons"])
        assert daemon.terminate()[0] == 0
    finally:
        daemon.kill()
    code, after = _health(ws)
    assert code == 1 and after["reasons"] == ["no mailproc daemon holds the scheduler lock"]
    human = ws.spawn("health")
    assert human.returncode == 1 and "- no mailproc daemon holds the scheduler lock" in human.stdout


def test_the_daemon_serves_prometheus_metrics_from_the_database(ws: Workspace, notify: NotifySocket) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    port = free_port()
    ws.configure(metrics={"listen": f"127.0.0.1:{port}"}, imap={"idle": False})
    ws.deliver(complaint(to=ws.mailbox))

    def scrape() -> dict[str, float]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                body = answer.read().decode()
        except OSError:
            return {}
        return {f"{s.name}{sorted(s.labels.items())}": s.value
                for family in text_string_to_metric_families(body) for s in family.samples}

    daemon = Daemon(ws, notify)
    try:
        notify.wait_for(lambda m: m.get("READY") == "1")
        values = wait_until(lambda: (v := scrape()) and v.get("mailproc_outbox_notices[('kind', 'receipt'), "
                                                               "('status', 'sent')]") == 1 and v,
                            timeout=60, what="the receipt counted as sent")
        assert values["mailproc_database_up[]"] == 1
        assert values["mailproc_scheduler_lock_held[]"] == 1
        assert values["mailproc_inbound_messages[('status', 'processed')]"] == 1
        assert daemon.terminate()[0] == 0
    finally:
        daemon.kill()
    assert scrape() == {}  # the endpoint goes with the daemon
