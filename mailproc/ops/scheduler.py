"""The daemon: APScheduler 3 as a timer only, guarded so one process schedules at a time.

Jobs call the same ``*_once`` functions as the CLI; their state lives in the database, so a
missed or coalesced run simply catches up next time. The job store is in memory and rebuilt
at start (APScheduler's FAQ: a job store cannot be shared between processes). A second
``mailproc run`` waits for the lock — a lock file for SQLite, ``pg_try_advisory_lock`` for
PostgreSQL — and takes over when the first process dies.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from filelock import FileLock, Timeout
from sqlalchemy import text

from mailproc.app import App
from mailproc.intake.idle import IdleWatcher

log = logging.getLogger(__name__)
ADVISORY_LOCK_ID = 0x6D61696C70726F63 & 0x7FFFFFFFFFFFFFFF  # "mailproc"


@contextmanager
def scheduler_lock(app: App, *, wait_seconds: float = 5.0, stop: threading.Event | None = None) -> Iterator[None]:
    """Hold the single-scheduler lock for the duration; wait (forever, or until stop) to get it."""
    stop = stop or threading.Event()
    if app.engine.dialect.name == "postgresql":
        conn = app.engine.connect()
        try:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_ID}).scalar():
                conn.rollback()
                log.info("another mailproc holds the scheduler lock; waiting")
                if stop.wait(wait_seconds):
                    return
            conn.commit()
            yield
        finally:
            conn.close()  # closing the session releases the advisory lock
        return
    path = Path(app.config.scheduler.lock_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    while True:
        try:
            lock.acquire(timeout=wait_seconds)
            break
        except Timeout:
            log.info("another mailproc holds %s; waiting", path)
            if stop.is_set():
                return
    try:
        yield
    finally:
        lock.release()


class Waker:
    """Runs a job now instead of at its next tick, without losing a wake that comes while the
    job is already running (APScheduler would skip that run: ``max_instances = 1``): the job
    body runs again before it returns as long as wakes arrived during its run."""

    def __init__(self) -> None:
        self.scheduler: BaseScheduler | None = None
        self._pending: dict[str, threading.Event] = {}

    def pending(self, job_id: str) -> threading.Event:
        return self._pending.setdefault(job_id, threading.Event())

    def wake(self, job_id: str) -> None:
        self.pending(job_id).set()
        scheduler = self.scheduler
        if scheduler is not None and scheduler.running:
            with contextlib.suppress(JobLookupError):
                scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))

    def run(self, job_id: str, fn: Callable[[], Any]) -> Callable[[], None]:
        """The job body: ``fn`` until no wake is pending; a failure is logged, never raised."""
        flag = self.pending(job_id)

        def job() -> None:
            while True:
                flag.clear()
                try:
                    fn()
                except Exception:
                    log.exception("job %s failed; it will run again at its next time", job_id)
                    return
                if not flag.is_set():
                    return
        job.__name__ = job_id
        return job


def intake(app: App, waker: Waker) -> None:
    _, processed = app.intake_once(finish=False)  # a slow message is written by a later run
    if processed.processed:
        waker.wake("send")  # receipts queued: out now, not at the next tick


def process(app: App, waker: Waker) -> None:
    if app.process_once(finish=False).processed:
        waker.wake("send")


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


def build_scheduler(app: App, scheduler_class: type[BaseScheduler] = BlockingScheduler,
                    waker: Waker | None = None) -> BaseScheduler:
    cfg = app.config.scheduler
    waker = waker or Waker()
    scheduler = scheduler_class(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=app.config.calendar.timezone,
    )
    jobs: list[tuple[str, Callable[[], Any], float]] = [
        ("intake", lambda: intake(app, waker), cfg.poll_seconds),
        ("process", lambda: process(app, waker), cfg.process_seconds),
        ("send", app.send_once, cfg.send_seconds),
        ("deadlines", lambda: sweep(app, waker), app.config.workflow.sweep_seconds),
    ]
    for job_id, fn, seconds in jobs:
        scheduler.add_job(waker.run(job_id, fn), "interval", seconds=seconds, id=job_id, replace_existing=True,
                          misfire_grace_time=max(int(seconds), 1), next_run_time=_now_local(app))
    scheduler.add_job(waker.run("digest", lambda: digest(app, waker)), "cron", hour=app.config.digest.hour,
                      minute=app.config.digest.minute, id="digest", replace_existing=True, misfire_grace_time=3600)
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


def run_daemon(app: App) -> None:
    stop = threading.Event()
    scheduler_holder: list[BaseScheduler] = []

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()
        if scheduler_holder:
            scheduler_holder[0].shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with scheduler_lock(app, stop=stop):
        if stop.is_set():
            return
        log.info("scheduler lock held: starting jobs (poll every %.0fs, send every %.0fs)",
                 app.config.scheduler.poll_seconds, app.config.scheduler.send_seconds)
        waker = Waker()
        scheduler = build_scheduler(app, waker=waker)
        scheduler_holder.append(scheduler)
        watchers = _idle_watchers(app, waker)
        try:
            scheduler.start()  # blocks until shutdown
            while scheduler.running:  # pragma: no cover - shutdown(wait=False) returns at once
                time.sleep(0.1)
        finally:
            for watcher in watchers:
                watcher.stop()
    log.info("mailproc stopped")
