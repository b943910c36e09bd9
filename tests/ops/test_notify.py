"""sd_notify: datagrams to $NOTIFY_SOCKET (a path or an abstract name), the watchdog interval
from $WATCHDOG_USEC, and nothing at all outside systemd."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

from mailproc.ops.notify import Notifier


def _receive(sock: socket.socket) -> list[str]:
    sock.settimeout(5)
    return sock.recv(4096).decode().split("\n")


def test_ready_status_watchdog_and_stopping_reach_a_path_socket(tmp_path: Path) -> None:
    path = f"/tmp/sdn-{uuid.uuid4().hex[:8]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        try:
            notifier = Notifier({"NOTIFY_SOCKET": path})
            notifier.ready("scheduling")
            assert _receive(sock) == ["READY=1", "STATUS=scheduling", f"MAINPID={os.getpid()}"]
            notifier.watchdog()
            assert _receive(sock) == ["WATCHDOG=1"]
            notifier.stopping("stopping")
            assert _receive(sock) == ["STOPPING=1", "STATUS=stopping"]
        finally:
            os.unlink(path)


def test_an_abstract_socket_name_starts_with_an_at_sign() -> None:
    name = f"mailproc-test-{uuid.uuid4().hex[:8]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        Notifier({"NOTIFY_SOCKET": "@" + name}).status("standby")
        assert _receive(sock) == ["STATUS=standby"]


def test_outside_systemd_nothing_is_sent_and_a_dead_socket_never_raises(tmp_path: Path) -> None:
    assert Notifier({}).send("READY=1") is False
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).send("READY=1") is False


def test_the_watchdog_interval_is_read_as_sd_watchdog_enabled_does() -> None:
    assert Notifier({}).watchdog_seconds is None
    assert Notifier({"WATCHDOG_USEC": "90000000"}).watchdog_seconds == 90.0
    assert Notifier({"WATCHDOG_USEC": "90000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_seconds == 90.0
    assert Notifier({"WATCHDOG_USEC": "90000000", "WATCHDOG_PID": "1"}).watchdog_seconds is None  # not us
    assert Notifier({"WATCHDOG_USEC": "x"}).watchdog_seconds is None
