"""Wire the parts together once: engine, sessions, templates, calendar, mailbox factory.

The CLI (and the demo and tests, through the same function) build one :class:`App` from the
loaded config and pass its pieces down to the ``*_once`` stage functions.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from imap_tools import BaseMailBox
from jinja2 import Environment
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.analysis.pool import Analyzer
from mailproc.config import Config, MailboxConfig
from mailproc.core.context import Context
from mailproc.core.workdays import WorkCalendar
from mailproc.intake.imap import open_mailbox
from mailproc.intake.poll import PollReport, poll_once
from mailproc.notices.render import make_environment
from mailproc.oauth2.tokens import Tokens
from mailproc.store.db import make_engine, make_sessionmaker, reading
from mailproc.store.models import InboundMessage
from mailproc.vocabulary import InboundStatus
from mailproc.workflow.process import ProcessReport, process_once

if TYPE_CHECKING:
    from mailproc.notices.sender import SendReport
    from mailproc.workflow.deadlines import SweepReport
    from mailproc.workflow.digest import DigestRun

# Batch work allocates container objects by the thousand per batch (parsed mail, ORM rows,
# notice contexts), and frees nearly all of them by reference counting. With the default
# first threshold (700) the cyclic collector runs every few messages and takes about a tenth
# of the writer's time; at 10,000 it runs a few times a batch, holding back at most that
# many objects' worth (a few MB) of cyclic garbage.
GC_THRESHOLDS = (10_000, 10, 10)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    env: Environment
    calendar: WorkCalendar
    analyzer: Analyzer
    now: Callable[[], datetime] = field(default=utcnow)

    @classmethod
    def build(cls, config: Config, *, now: Callable[[], datetime] = utcnow) -> App:
        engine = make_engine(config.database)
        return cls(
            config=config,
            engine=engine,
            sessions=make_sessionmaker(engine),
            env=make_environment(config.notices.templates_dir or None),
            calendar=WorkCalendar.from_config(config.calendar),
            analyzer=Analyzer(config),
            now=now,
        )

    def start_workers(self) -> None:
        """Fork the analysis workers now, before any thread starts and while this process
        is lean: they then share its pages and never inherit a lock held by a thread.
        Long-running commands (``poll --once``, ``run``) call it once; the pool serves
        every later batch. The collector's thresholds are set first, for the workers too.
        (The holiday calendar is not loaded here: only the writer, in this process, reads
        it, so it loads on first use, while the workers analyse the first batches.)"""
        gc.set_threshold(*GC_THRESHOLDS)
        self.analyzer.start()

    def mailbox(self) -> BaseMailBox:
        return open_mailbox(self.config.imap, self.tokens)

    @cached_property
    def tokens(self) -> Tokens | None:
        """OAuth 2.0 access tokens, when IMAP or SMTP logs in with them (cached in the state directory)."""
        if not self.config.uses_oauth2():
            return None
        return Tokens(self.config.oauth2, state_dir=Path(self.config.paths.state_dir))

    @cached_property
    def ctx(self) -> Context:
        """What every stage is given (built once)."""
        return Context.build(self.config, self.env, self.calendar, mailbox=self.mailbox, tokens=self.tokens)

    def context(self) -> Context:
        return self.ctx

    def poll_once(self, *, ignore_backoff: bool = False, on_stored: Callable[[], None] | None = None,
                  mailbox: MailboxConfig | None = None) -> PollReport:
        return poll_once(self.sessions, self.ctx, now=self.now, ignore_backoff=ignore_backoff, on_stored=on_stored,
                         mailbox=mailbox)

    def poll_all(self, *, ignore_backoff: bool = False, on_stored: Callable[[], None] | None = None) -> PollReport:
        """Every complaints mailbox in turn; one report with their counts (the first error)."""
        reports = [self.poll_once(ignore_backoff=ignore_backoff, on_stored=on_stored, mailbox=box)
                   for box in self.config.all_mailboxes()]
        total = reports[0]
        for other in reports[1:]:
            total.add(other)
            total.error = total.error or other.error
        return total

    def process_once(self, *, limit: int | None = None, finish: bool = True) -> ProcessReport:
        return process_once(self.sessions, self.ctx, now=self.now, limit=limit, analyzer=self.analyzer,
                            finish=finish)

    def intake_once(self, *, ignore_backoff: bool = False, finish: bool = True) -> tuple[PollReport, ProcessReport]:
        """Poll and process at the same time: the poll runs in a thread while this thread
        processes the rows it has already committed (analysis in worker processes).

        Processing starts as soon as the poll has stored a batch, and whenever it has caught
        up it waits for the poll's next commit (not a fixed interval), so the workers are
        idle only while there is nothing stored to give them."""
        polled: list[PollReport] = []
        failed: list[Exception] = []  # the poll's own failure, raised here once both are done
        stored = threading.Event()

        def poll() -> None:
            try:
                polled.append(self.poll_all(ignore_backoff=ignore_backoff, on_stored=stored.set))
            except Exception as exc:
                failed.append(exc)
            finally:
                stored.set()

        thread = threading.Thread(target=poll, name="mailproc-poll", daemon=True)
        total = ProcessReport()
        enough = min(self.config.scheduler.process_batch, self.config.imap.batch_size)  # one poll batch
        thread.start()
        while True:
            stored.clear()  # before looking: a commit from now on ends the wait at once
            polling = thread.is_alive()
            if polling and self.waiting() < enough:
                stored.wait(timeout=1.0)
                continue
            report = process_once(self.sessions, self.ctx, now=self.now, analyzer=self.analyzer, finish=finish)
            total.add(report)
            if not polling and report.processed == 0:
                break
        thread.join()
        if failed:
            raise failed[0]
        return polled[0], total

    def send_once(self, *, limit: int | None = None) -> SendReport:
        from mailproc.notices.sender import send_once  # aiosmtplib and asyncio: only when sending

        return send_once(self.sessions, self.ctx, now=self.now, limit=limit)

    def sweep_once(self) -> SweepReport:
        from mailproc.workflow.deadlines import sweep_once

        return sweep_once(self.sessions, self.ctx, now=self.now)

    def digest_once(self, *, send: bool = False) -> DigestRun:
        from mailproc.workflow.digest import digest_once

        return digest_once(self.sessions, self.ctx, now=self.now, send=send)

    def waiting(self) -> int:
        """Stored messages not processed yet."""
        with reading(self.sessions) as session:
            return int(session.scalar(select(func.count(InboundMessage.id))
                                      .where(InboundMessage.status == InboundStatus.NEW)) or 0)

    def close(self) -> None:
        self.analyzer.close()
        self.engine.dispose()
