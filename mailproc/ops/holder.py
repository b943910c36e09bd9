"""Who holds the scheduler lock: a small JSON file beside the lock, for ``mailproc health``.

The lock itself says nothing about its holder (an flock, or a PostgreSQL advisory lock), so
the daemon that takes it writes ``{pid, host, since, heartbeat_at}`` next to it and refreshes
``heartbeat_at`` from the scheduler's heartbeat job; it removes the file when it lets go.
A file left by a killed daemon is recognised by its pid no longer running (same host) or by
its stale heartbeat.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailproc.config import Config

# The PostgreSQL advisory lock that makes one daemon the scheduler (ops.scheduler).
ADVISORY_LOCK_ID = 0x6D61696C70726F63 & 0x7FFFFFFFFFFFFFFF  # "mailproc"

def holder_path(config: Config) -> Path:
    lock = Path(config.scheduler.lock_file)
    return lock.with_name(lock.name + ".holder")


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    since: str         # ISO 8601, UTC
    heartbeat_at: str  # ISO 8601, UTC

    @classmethod
    def me(cls, now: datetime) -> Holder:
        at = now.astimezone(UTC).isoformat(timespec="seconds")
        return cls(pid=os.getpid(), host=socket.gethostname(), since=at, heartbeat_at=at)

    def alive(self) -> bool | None:
        """True/False when the holder is on this host (its pid runs or not); None elsewhere."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # running, as another user (the service's)
            return True
        return True

    def heartbeat_age(self, now: datetime) -> float:
        return (now - datetime.fromisoformat(self.heartbeat_at)).total_seconds()

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since}"


def write_holder(path: Path, holder: Holder) -> None:
    """Replace the file atomically (a reader never sees half of it); never raises."""
    with contextlib.suppress(OSError):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        tmp.chmod(0o644)
        os.replace(tmp, path)


def read_holder(path: Path) -> Holder | None:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return Holder(pid=int(data["pid"]), host=str(data["host"]), since=str(data["since"]),
                      heartbeat_at=str(data["heartbeat_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_holder(path: Path) -> None:
    holder = read_holder(path)
    if holder is not None and holder.pid == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()
