"""systemd's service notification protocol (sd_notify): READY, STATUS, WATCHDOG, STOPPING.

Written out here rather than taken from a library: the protocol is one datagram of
``KEY=value`` lines to the AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a path, or ``@name``
for the abstract namespace), and the candidates are worse than these lines: ``sdnotify`` has
had no release since 2017, ``systemd-python`` and ``cysystemd`` are C extensions that need
libsystemd's headers to build. Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
A notification that cannot be delivered is logged once and never stops the daemon.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to the service manager named by the environment (if any)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = ("\0" + address[1:] if address.startswith("@") else address) or None
        self.watchdog_seconds = _watchdog_seconds(env)
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram of ``KEY=value`` lines; True if the manager got it."""
        if self.address is None:
            return False
        payload = "\n".join(lines).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self.address)
                sock.sendall(payload)
            return True
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify the service manager at $NOTIFY_SOCKET: %s", exc)
            return False

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def stopping(self, status: str) -> None:
        self.send("STOPPING=1", f"STATUS={status}")


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    """The watchdog interval systemd asks for (``WatchdogSec=``), if it asks this process.

    As sd_watchdog_enabled(3): ``$WATCHDOG_USEC``, and ``$WATCHDOG_PID`` if set must be us."""
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    return usec / 1_000_000 if usec > 0 else None
