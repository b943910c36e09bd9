"""The daemon: APScheduler 3 as a timer only, guarded so one process schedules at a time.

Jobs call the same ``*_once`` functions as the CLI; their state lives in the database, so a
missed or coalesced run simply catches up next time. The job store is in memory and rebuilt
at start (APScheduler's FAQ: a job store cannot be shared between processes). A second
``mailproc run`` waits for the lock — a lock file for SQLite, ``pg_try_advisory_lock`` for
PostgreSQL — as a quiet standby, and takes over when the first process dies.

Under systemd (``Type=notify``, see ``deploy/mailproc.service``) the daemon reports READY=1
once it is doing its job: either its jobs are scheduled, or it is a standby waiting for the
lock (a standby that never reported ready would fail its start after ``TimeoutStartSec``).
``STATUS=`` says which. WATCHDOG=1 comes from a heartbeat job run by the scheduler itself (in
an executor of its own, so busy jobs never hold it up): it proves the scheduler's loop still
dispatches jobs, not merely that the process exists. On SIGTERM it claims no new work, lets
running jobs finish their current step for up to ``scheduler.stop_seconds``, and exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from filelock import FileLock, Timeout
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from mailproc.app import App
from mailproc.core import memory
from mailproc.intake.idle import IdleWatcher
from mailproc.ops.faults import FaultLog
from mailproc.ops.holder import ADVISORY_LOCK_ID, Holder, holder_path, remove_holder, write_holder
from mailproc.ops.metrics import serve_metrics
from mailproc.ops.notify import Notifier

log = logging.getLogger(__name__)
STANDBY_LOG_SECONDS = 600.0  # a waiting standby says so once, then this often
FENCE_SECONDS = 5.0  # between jobs, the leader confirms its lock this often
HEARTBEAT_SECONDS = 30.0  # without a systemd watchdog; with one, a third of its interval


class _Waiting:
    """Logs a standby's wait once, then every STANDBY_LOG_SECONDS (not every try)."""

    def __init__(self, what: str, on_wait: Callable[[], None] | None) -> None:
        self.what, self.on_wait = what, on_wait
        self.started: float | None = None
        self.logged_at = 0.0

    def tick(self, detail: str = "") -> None:
        now = time.monotonic()
        what = f"{self.what} ({detail})" if detail else self.what
        if self.started is None:
            self.started = self.logged_at = now
            log.info("%s; standing by until it is free", what)
        elif now - self.logged_at >= STANDBY_LOG_SECONDS:
            self.logged_at = now
            log.info("still standing by (%.0f min): %s", (now - self.started) / 60, what)
        if self.on_wait is not None:
            self.on_wait()


class Fence:
    """Proof, checked before each job, that this process still holds the scheduler lock.

    PostgreSQL: the advisory lock lives as long as the session that took it; a restarted
    server or a terminated backend ends that session (and frees the lock for another daemon)
    while this process may not have noticed. :meth:`confirm` asks ``pg_locks`` on that very
    connection: any failure, or a missing lock, means it is lost. SQLite: the lock file must
    still be the file this process locked (a file removed and created again can be locked by
    another daemon). Thread-safe: jobs run in a pool."""

    def __init__(self, check: Callable[[], bool], what: str) -> None:
        self._check = check
        self._guard = threading.Lock()
        self.what = what

    def confirm(self) -> bool:
        with self._guard:
            try:
                return self._check()
            except Exception as exc:  # the connection is gone, the file is gone: either way, lost
                log.debug("scheduler lock check failed: %s", exc)
                return False


_HELD_BY_ME = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
    "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1")


@contextmanager
def scheduler_lock(app: App, *, wait_seconds: float = 5.0, stop: threading.Event | None = None,
                   on_wait: Callable[[], None] | None = None) -> Iterator[Fence | None]:
    """Hold the single-scheduler lock for the duration: yields a :class:`Fence` once it is
    held, or None if ``stop`` was set while waiting for it (then nothing is held). Waits
    forever otherwise, trying every ``wait_seconds`` and calling ``on_wait`` after each failed
    try; a database that cannot be reached is one more reason to wait, never an error."""
    stop = stop or threading.Event()
    if app.engine.dialect.name == "postgresql":
        conn = _take_pg_lock(app, stop, wait_seconds, on_wait)
        if conn is None:
            yield None
            return
        try:
            yield Fence(partial(_pg_lock_held, conn), "PostgreSQL advisory lock")
        finally:
            with contextlib.suppress(Exception):
                conn.close()  # closing the session releases the advisory lock
        return
    path = Path(app.config.scheduler.lock_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    waiting = _Waiting(f"another mailproc holds {path}", on_wait)
    while True:
        try:
            lock.acquire(timeout=0)  # one try: the wait below is the one SIGTERM interrupts
            break
        except Timeout:
            waiting.tick()
            if stop.wait(wait_seconds):
                yield None
                return
    fd = lock._context.lock_file_fd  # the descriptor filelock holds the lock on
    assert fd is not None
    locked = os.fstat(fd)

    def same_file() -> bool:
        now = os.stat(path)
        return (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino)

    try:
        yield Fence(same_file, f"lock file {path}")
    finally:
        lock.release()


def _take_pg_lock(app: App, stop: threading.Event, wait_seconds: float,
                  on_wait: Callable[[], None] | None) -> Connection | None:
    """A connection whose session holds the advisory lock, or None once ``stop`` is set."""
    waiting = _Waiting("another mailproc holds the scheduler lock (PostgreSQL advisory lock)", on_wait)
    outage = _Waiting("the database cannot be reached to take the scheduler lock", on_wait)
    while True:
        conn = None
        try:
            conn = app.engine.connect()
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_ID}).scalar():
                conn.rollback()
                waiting.tick()
                if stop.wait(wait_seconds):
                    conn.close()
                    return None
            conn.commit()
            if outage.started is not None:
                log.info("the database can be reached again")
            return conn
        except OperationalError as exc:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.invalidate()
            outage.tick(str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__)
            if stop.wait(wait_seconds):
                return None


def _pg_lock_held(conn: Connection) -> bool:
    found = conn.execute(_HELD_BY_ME, {"hi": ADVISORY_LOCK_ID >> 32, "lo": ADVISORY_LOCK_ID & 0xFFFFFFFF}).scalar()
    conn.rollback()
    return bool(found)


class Waker:
    """Runs a job now instead of at its next tick, without losing a wake that comes while the
    job is already running (APScheduler would skip that run: ``max_instances = 1``): the job
    body runs again before it returns as long as wakes arrived during its run.

    It also knows which jobs are running, so a stopping daemon can wait for them, and once
    ``stop`` is set a job body does not start again."""

    def __init__(self, stop: threading.Event | None = None, guard: Callable[[], bool] | None = None) -> None:
        self.scheduler: BaseScheduler | None = None
        self.stop = stop or threading.Event()
        self.guard = guard  # asked before each job body: False (the lock is lost) skips it
        self.faults = FaultLog()  # a failing job: one line when it starts, reminders, one when it ends
        self._pending: dict[str, threading.Event] = {}
        self._running: dict[str, float] = {}  # job id -> monotonic start
        self._idle = threading.Condition()

    def pending(self, job_id: str) -> threading.Event:
        return self._pending.setdefault(job_id, threading.Event())

    def wake(self, job_id: str) -> None:
        self.pending(job_id).set()
        scheduler = self.scheduler
        if scheduler is not None and scheduler.running and not self.stop.is_set():
            with contextlib.suppress(JobLookupError):
                scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    def running(self) -> list[str]:
        with self._idle:
            return sorted(self._running)

    def wait_idle(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for every running job to return; the ones still running."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            return sorted(self._running)

    def run(self, job_id: str, fn: Callable[[], Any]) -> Callable[[], None]:
        """The job body: ``fn`` until no wake is pending; a failure is logged, never raised."""
        flag = self.pending(job_id)

        def job() -> None:
            if self.stop.is_set() or (self.guard is not None and not self.guard()):
                return
            with self._idle:
                self._running[job_id] = time.monotonic()
            try:
                while not self.stop.is_set():
                    flag.clear()
                    try:
                        fn()
                    except Exception as exc:
                        self.faults.failed(job_id, exc)
                        return
                    self.faults.succeeded(job_id)
                    if not flag.is_set():
                        return
            finally:
                with self._idle:
                    del self._running[job_id]
                    self._idle.notify_all()
        job.__name__ = job_id
        return job


def intake(app: App, waker: Waker) -> None:
    try:
        _, processed = app.intake_once(finish=False)  # a slow message is written by a later run
    finally:
        memory.give_back()  # what a burst of large mail took goes back to the system
    if processed.processed:
        waker.wake("send")  # receipts queued: out now, not at the next tick


def process(app: App, waker: Waker) -> None:
    try:
        processed = app.process_once(finish=False).processed
    finally:
        memory.give_back()
    if processed:
        waker.wake("send")


SEND_CHUNK_MAX = 200


def send(app: App, waker: Waker, pace: list[float]) -> None:
    """Deliver what is due in chunks sized so that one chunk takes about a quarter of the stop
    bound (``pace`` keeps the last seconds per notice): a stop request is honoured between
    chunks, so a notice is either handed to the server or left queued, never claimed and
    abandoned. (The sender claims — and charges — a whole chunk at once.)"""
    bound = app.config.scheduler.stop_seconds
    while not waker.stop.is_set():
        chunk = max(1, min(SEND_CHUNK_MAX, app.config.smtp.batch_size, int(bound / 4 / max(pace[0], 1e-3))))
        started = time.monotonic()
        report = app.send_once(limit=chunk)
        if report.claimed:
            pace[0] = (time.monotonic() - started) / report.claimed
        if report.claimed < chunk or (report.sent == 0 and report.failed == 0):
            return  # nothing more is due, or the server is unwell: the next run tries again


def sweep(app: App, waker: Waker) -> None:
    """Deadlines and alerts, then the day's digest if its time has passed and it is not out yet
    (the catch-up after the daemon was down at digest time; the digest's dedupe key makes it once)."""
    app.sweep_once()
    local = app.now().astimezone(ZoneInfo(app.config.calendar.timezone))
    cfg = app.config.digest
    if (local.hour, local.minute) >= (cfg.hour, cfg.minute):
        app.digest_once(send=True)
    waker.wake("send")


def digest(app: App, waker: Waker) -> None:
    if app.digest_once(send=True).queued:
        waker.wake("send")


def heartbeat(app: App, notifier: Notifier, holder: Holder | None) -> None:
    """Proof the scheduler still dispatches jobs: systemd's watchdog and the holder file."""
    notifier.watchdog()
    if holder is not None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        write_holder(holder_path(app.config), Holder(holder.pid, holder.host, holder.since, now))


def build_scheduler(app: App, scheduler_class: type[BaseScheduler] = BackgroundScheduler,
                    waker: Waker | None = None, notifier: Notifier | None = None,
                    holder: Holder | None = None) -> BaseScheduler:
    cfg = app.config.scheduler
    waker = waker or Waker()
    notifier = notifier or Notifier({})
    scheduler = scheduler_class(
        # The heartbeat has a thread of its own: four busy jobs must not look like a hang.
        executors={"default": ThreadPoolExecutor(max_workers=4), "heartbeat": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=app.config.calendar.timezone,
    )
    pace = [0.25]  # seconds per notice, until measured (a cautious guess: the first chunk is 20 by default)
    jobs: list[tuple[str, Callable[[], Any], float]] = [
        ("intake", lambda: intake(app, waker), cfg.poll_seconds),
        ("process", lambda: process(app, waker), cfg.process_seconds),
        ("send", lambda: send(app, waker, pace), cfg.send_seconds),
        ("deadlines", lambda: sweep(app, waker), app.config.workflow.sweep_seconds),
    ]
    for job_id, fn, seconds in jobs:
        scheduler.add_job(waker.run(job_id, fn), "interval", seconds=seconds, id=job_id, replace_existing=True,
                          misfire_grace_time=max(int(seconds), 1), next_run_time=_now_local(app))
    scheduler.add_job(waker.run("digest", lambda: digest(app, waker)), "cron", hour=app.config.digest.hour,
                      minute=app.config.digest.minute, id="digest", replace_existing=True, misfire_grace_time=3600)
    beat = notifier.watchdog_seconds / 3 if notifier.watchdog_seconds else HEARTBEAT_SECONDS
    scheduler.add_job(heartbeat, "interval", args=(app, notifier, holder), seconds=beat, id="heartbeat",
                      executor="heartbeat", replace_existing=True, misfire_grace_time=max(int(beat), 1),
                      next_run_time=_now_local(app))
    waker.scheduler = scheduler
    return scheduler


def _now_local(app: App) -> Any:
    return app.now().astimezone(ZoneInfo(app.config.calendar.timezone))


def _idle_watchers(app: App, waker: Waker) -> list[IdleWatcher]:
    """Push: new mail announced by IMAP IDLE (one connection per mailbox) wakes the intake job."""
    watchers = [IdleWatcher(app.ctx, on_change=lambda: waker.wake("intake"), mailbox=box)
                for box in app.config.all_mailboxes() if box.idle]
    for watcher in watchers:
        watcher.start()
    return watchers


@contextmanager
def _signals_set(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT only set ``stop`` (the main thread does the rest, outside the handler)."""
    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_daemon(app: App, *, notifier: Notifier | None = None, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or ``stop``); returns when stopped, which is exit code 0.

    If jobs are still running ``scheduler.stop_seconds`` after the stop request, the process
    ends at once anyway (``os._exit(0)``): every stage commits as it goes and resumes at the
    next start, and systemd would otherwise kill it harder at ``TimeoutStopSec``."""
    notifier = notifier or Notifier()
    stop = stop or threading.Event()
    memory.tune()  # large buffers are mapped and unmapped: a burst's memory goes back (core.memory)
    standing_by: list[bool] = []

    def on_wait() -> None:
        if not standing_by:  # ready: a standby is doing its job
            standing_by.append(True)
            notifier.ready("standby: another mailproc holds the scheduler lock")
        notifier.watchdog()

    metrics = serve_metrics(app)  # [metrics] listen; a standby serves them too (all read from the database)
    try:
        with _signals_set(stop):
            while True:
                with scheduler_lock(app, stop=stop, on_wait=on_wait) as fence:
                    if fence is None:
                        notifier.stopping("stopped while standing by")
                        log.info("mailproc stopped (it was standing by)")
                        return
                    stepped_down = _lead(app, notifier, stop, fence)
                if not stepped_down:
                    break
                standing_by.clear()
                log.warning("stepped down: standing by for the scheduler lock again")
    finally:
        if metrics is not None:
            metrics.close()
    log.info("mailproc stopped")


def _lead(app: App, notifier: Notifier, stop: threading.Event, fence: Fence) -> bool:
    """Schedule the jobs while the lock is ours; returns True when it was lost (this process
    steps down and may stand by again), False when stopped."""
    cfg = app.config.scheduler
    holder = Holder.me(app.now())
    path = holder_path(app.config)
    write_holder(path, holder)
    ending = threading.Event()  # stop, or the lock lost
    lost = threading.Event()

    def confirm() -> bool:
        if fence.confirm():
            return True
        if not lost.is_set():
            lost.set()
            ending.set()
            log.error("the scheduler lock (%s) is no longer held by this process (database restarted, session "
                      "ended, lock file removed): stepping down, no new job starts here", fence.what)
        return False

    waker = Waker(ending, guard=confirm)
    scheduler = build_scheduler(app, waker=waker, notifier=notifier, holder=holder)
    watchers = _idle_watchers(app, waker)
    try:
        scheduler.start()
        status = f"scheduling: poll every {cfg.poll_seconds:g}s, send every {cfg.send_seconds:g}s"
        log.info("scheduler lock held: %s", status)
        notifier.ready(status)
        while not ending.is_set():
            if stop.wait(FENCE_SECONDS):
                ending.set()
            elif not waker.running():
                confirm()  # also between jobs: a lost lock is noticed within seconds
        if lost.is_set():
            notifier.status("stepped down: the scheduler lock was lost")
        else:
            log.info("stopping: no new work is started; waiting up to %gs for %s", cfg.stop_seconds,
                     ", ".join(waker.running()) or "nothing")
            notifier.stopping("stopping: finishing the running jobs")
        scheduler.shutdown(wait=False)
    finally:
        for watcher in watchers:
            watcher.stop(timeout=1.0)
    left = waker.wait_idle(cfg.stop_seconds)
    if lost.is_set():
        if left:
            log.warning("%s still running from before the lock was lost; they finish on their own (each stage "
                        "claims its rows, so the new leader does not redo their work)", ", ".join(left))
        return True
    remove_holder(path)
    if left:
        log.warning("still running after %gs: %s; exiting without them (their work so far is committed and "
                    "the rest resumes at the next start)", cfg.stop_seconds, ", ".join(left))
        log.info("mailproc stopped")
        for child in multiprocessing.active_children():  # the analysis workers
            child.kill()
        logging.shutdown()
        os._exit(0)
    return False
