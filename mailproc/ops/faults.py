"""A fault is logged once when it starts, reminded of at most every few minutes, and logged once
when it ends: never a traceback per job run.

A job that fails because the database or the disk failed (see
:func:`mailproc.store.db.is_outage`) is one ERROR line naming the fault, without SQL or
values. Any other failure is a bug: its traceback is logged the first time (it is needed to fix
it), then the same reminders. The masking filter of :mod:`mailproc.ops.logs` still applies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mailproc.store.db import is_outage, outage_summary

log = logging.getLogger("mailproc.faults")
REMIND_SECONDS = 300.0


@dataclass
class _Fault:
    kind: str
    started: float
    reminded: float
    count: int = 1


def describe(exc: BaseException) -> str:
    if is_outage(exc):
        return f"database or disk unavailable ({outage_summary(exc)})"
    return f"{type(exc).__name__} (a bug: please report it with the traceback logged first)"


class FaultLog:
    """Per job: the fault going on, if any. Thread-safe (jobs run in a pool)."""

    def __init__(self, remind_seconds: float = REMIND_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.remind_seconds, self.clock = remind_seconds, clock
        self._faults: dict[str, _Fault] = {}
        self._lock = threading.Lock()

    def failed(self, job: str, exc: BaseException) -> None:
        kind, now = describe(exc), self.clock()
        with self._lock:
            fault = self._faults.get(job)
            if fault is None or fault.kind != kind:
                self._faults[job] = _Fault(kind, now, now)
                start = True
            else:
                fault.count += 1
                start = False
                remind = now - fault.reminded >= self.remind_seconds
                if remind:
                    fault.reminded = now
                minutes, count = (now - fault.started) / 60, fault.count
        if start:
            log.error("job %s failed: %s; retried at its next run (logged again only when it changes or ends)", job,
                      kind, exc_info=None if is_outage(exc) else exc)
        elif remind:
            log.error("job %s still failing after %.0f min (%d runs): %s", job, minutes, count, kind)

    def succeeded(self, job: str) -> None:
        with self._lock:
            fault = self._faults.pop(job, None)
        if fault is not None:
            log.warning("job %s works again after %.0f min (%d failed runs): %s ended", job,
                        (self.clock() - fault.started) / 60, fault.count, fault.kind)

    def failing(self) -> dict[str, str]:
        with self._lock:
            return {job: fault.kind for job, fault in self._faults.items()}
