"""Push: IMAP IDLE (RFC 2177) on the complaints folder, as a hint to poll at once.

The watcher keeps one connection of its own in IDLE and calls ``on_change`` whenever the
server announces new mail (``EXISTS``/``RECENT``); the poll then does the work as always, so a
missed or spurious notice costs nothing but a poll (the periodic poll stays as the safety net).
IDLE is renewed every ``imap.idle_seconds`` (below the 29 minutes RFC 2177 allows) and after
any connection loss, with backoff; a server without IDLE is left to the periodic poll.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Callable

from imap_tools import BaseMailBox

from mailproc.config import MailboxConfig
from mailproc.core.context import Context
from mailproc.intake.imap import TRANSIENT_ERRORS, open_mailbox

log = logging.getLogger(__name__)
_NEW_MAIL = re.compile(rb"^\* \d+ (?:EXISTS|RECENT)\b")
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 300.0


def announces_new_mail(responses: list[bytes]) -> bool:
    return any(_NEW_MAIL.match(line) for line in responses)


class IdleWatcher:
    """One thread, one IMAP connection in IDLE; ``stop()`` ends it at once (the socket is
    shut down under the waiting read)."""

    def __init__(self, ctx: Context, on_change: Callable[[], None], *, mailbox: MailboxConfig | None = None) -> None:
        self.ctx, self.on_change = ctx, on_change
        self.box_cfg = mailbox or ctx.config.all_mailboxes()[0]
        if self.box_cfg.name:
            cfg, tokens = self.box_cfg, ctx.tokens
            self.open_mailbox: Callable[[], BaseMailBox] = lambda: open_mailbox(cfg, tokens)
        elif ctx.mailbox is not None:
            self.open_mailbox = ctx.mailbox  # type: ignore[assignment]
        else:
            raise TypeError("the IDLE watcher needs a context with a mailbox factory")
        self._stop = threading.Event()
        self._box: BaseMailBox | None = None
        self._thread: threading.Thread | None = None
        self.supported: bool | None = None  # None until the server's capabilities are known
        self.connected = threading.Event()  # set while a connection is in IDLE (for tests and health)

    # -- one wait: the *_once entry point ------------------------------------------------------

    def connect(self) -> bool:
        """Open the connection and select the folder; False if the server has no IDLE."""
        box = self.open_mailbox().__enter__()
        if "IDLE" not in box.client.capabilities:
            with contextlib.suppress(Exception):
                box.logout()
            self.supported = False
            return False
        box.folder.set(self.box_cfg.folder, readonly=True)
        self._box, self.supported = box, True
        return True

    def wait_once(self, timeout: float) -> bool:
        """One IDLE of up to ``timeout`` seconds; True if new mail was announced."""
        if self._box is None and not self.connect():
            return False
        assert self._box is not None
        self.connected.set()
        try:
            responses = self._box.idle.wait(timeout=timeout)
        finally:
            self.connected.clear()
        return announces_new_mail(responses)

    def close(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            try:
                box.logout()
            except Exception:  # the connection is already gone: close what is left of it
                with contextlib.suppress(Exception):
                    box.client.shutdown()

    # -- the thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mailproc-idle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        box = self._box
        if box is not None:  # wake the blocked read
            with contextlib.suppress(OSError):
                box.client.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        renew = self.box_cfg.idle_seconds
        where = f"{self.box_cfg.name}/{self.box_cfg.folder}" if self.box_cfg.name else self.box_cfg.folder
        failures = 0
        while not self._stop.is_set():
            try:
                if self.wait_once(renew):
                    self.on_change()
                if failures:
                    log.info("IMAP IDLE on %s: connected again", where)
                failures = 0
                if self.supported is False:
                    log.info("the IMAP server does not offer IDLE: new mail is found by the periodic poll only")
                    return
            except TRANSIENT_ERRORS as exc:
                self.close()
                if self._stop.is_set():
                    break
                failures += 1
                delay = min(BACKOFF_INITIAL * 2 ** (failures - 1), BACKOFF_MAX)
                if failures == 1 or delay >= BACKOFF_MAX:  # once when it starts, then at most every 5 min
                    log.warning("IMAP IDLE on %s lost (%s: %s); reconnecting in %.0f s", where,
                                type(exc).__name__, str(exc)[:200], delay)
                self.on_change()  # a poll now finds anything the lost connection did not announce
                self._stop.wait(delay)
        self.close()
