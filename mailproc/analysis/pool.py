"""The pure, CPU-bound half of processing: raw bytes in, an :class:`Analysis` value out.

parse → filter → arrival time → extract. No writes, no network, so it can run in worker
processes: :class:`Analyzer` spreads large batches over a fork-based process pool (one
worker per core) and runs small ones in-process. Stored mail is read where it is analysed
(:class:`~mailproc.store.db.RawReader`), so its bytes never pass through the main process. The
database half (threading, tickets, notices) stays in :mod:`mailproc.workflow.process`, in the
main process.

Memory: the pool is forked once per process (``App.start_workers``), early, after a warm-up
that loads the parsers' lazy tables and a ``gc.freeze`` that keeps collections from writing
to the shared pages; the workers then share most of their memory with the main process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import logging
import math
import multiprocessing
import os
import re
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from mailproc.analysis.extract.fields import Extracted, extract
from mailproc.analysis.filters import FilterContext, Verdict, first_match
from mailproc.analysis.parsing import ParsedMail, html_to_text, oversize_of, parse_message
from mailproc.analysis.routing import find_keywords
from mailproc.analysis.threads import find_ref
from mailproc.config import Config
from mailproc.core import memory
from mailproc.errors import MessageRejected
from mailproc.store.db import RawReader


@dataclass(frozen=True)
class RawInbound:
    id: int
    raw: bytes
    fetched_at: datetime


StoredRef = tuple[int, datetime, int]  # a stored inbound row to analyse: (id, fetched_at, size in bytes)
# A worker reads the stored messages of its chunk this many bytes at a time (a larger message
# alone): its memory follows the largest message, not the chunk.
READ_BYTES = 8 * 1024 * 1024


def read_stored(reader: RawReader, refs: Sequence[StoredRef]) -> list[RawInbound]:
    """The stored messages ``refs``, in that order; a row that is gone is left out."""
    raws = reader.read([ref[0] for ref in refs])
    return [RawInbound(inbound_id, raws[inbound_id], fetched_at) for inbound_id, fetched_at, _ in refs
            if inbound_id in raws]


def by_size(refs: Sequence[StoredRef], limit: int = READ_BYTES) -> Iterator[list[StoredRef]]:
    """``refs`` in order, in groups of at most ``limit`` bytes (one message if it is larger)."""
    group: list[StoredRef] = []
    total = 0
    for ref in refs:
        if group and total + ref[2] > limit:
            yield group
            group, total = [], 0
        group.append(ref)
        total += ref[2]
    if group:
        yield group


@dataclass(frozen=True)
class Analysis:
    """Everything the database half needs to know about one inbound message."""

    inbound_id: int
    parsed: ParsedMail | None = None  # when extracted: without text and most headers (_for_writer)
    error: str | None = None          # set when the message cannot be processed (quarantine)
    verdict: Verdict | None = None    # set when a filter rule matched (ignored / bounce)
    found: Extracted | None = None    # the customer's identifiers in this message
    received_at: datetime | None = None
    keyword_hits: dict[str, str] | None = None  # routing rules whose keywords the text contains
    subject_ref: str | None = None    # a ticket reference in the subject
    body_ref: str | None = None       # else one in the new or the forwarded text
    oversize: int | None = None       # stored without its body: its real size (bytes)


@dataclass(frozen=True)
class AnalysisSettings:
    """The parts of the config the analysis needs; small and picklable for the workers."""

    config: Config
    filters: FilterContext

    @classmethod
    def from_config(cls, config: Config) -> AnalysisSettings:
        own = {config.smtp.from_address.lower()}
        for box in config.all_mailboxes():  # every complaints mailbox is "us"
            own.update(a.lower() for a in (box.username, box.from_address) if a and "@" in a)
        return cls(config=config, filters=FilterContext(
            own_addresses=frozenset(own),
            own_message_id_domain=config.notices.message_id_domain,
            robot_localparts=frozenset(config.filters.robot_localparts),
        ))


def arrival_time(parsed: ParsedMail, fetched_at: datetime) -> datetime:
    """When the mail reached our server: the newest Received stamp, else when we fetched it."""
    received = parsed.headers.get("received", ())
    if received:
        stamp = received[0].rpartition(";")[2].strip()
        try:
            when = parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError):
            when = None
        if when and when.tzinfo and fetched_at - timedelta(days=30) <= when <= fetched_at + timedelta(minutes=5):
            return when
    return fetched_at


def local_date(when: datetime, tz: ZoneInfo) -> date:
    return when.astimezone(tz).date()


# The headers the database half reads (agents' mail is authenticated there); the rest were
# for the filters and the arrival time, which the analysis has already applied.
WRITER_HEADERS = frozenset({"authentication-results", "from", "x-ms-exchange-organization-authas",
                            "x-ms-exchange-organization-authsource", "x-ms-exchange-organization-authmechanism"})


def _for_writer(parsed: ParsedMail) -> ParsedMail:
    """What a worker sends back: without the whole decoded body (new, quoted and forwarded
    text are kept) and without the headers the writer does not read. Trace and signature
    headers are often most of a message's header block: this halves what is pickled."""
    headers = {name: values for name, values in parsed.headers.items() if name in WRITER_HEADERS}
    return dataclasses.replace(parsed, text="", headers=headers)


def analyse(item: RawInbound, settings: AnalysisSettings) -> Analysis:
    """Analyse one message; never raises (an unexpected error becomes a quarantine reason)."""
    config = settings.config
    oversize = oversize_of(item.raw)
    try:
        parsed = parse_message(item.raw, config.parsing)
        verdict = first_match(parsed, settings.filters, config.filters.rules)
        received_at = arrival_time(parsed, item.fetched_at)
        prefix = config.notices.ref_prefix
        subject_ref = find_ref(prefix, parsed.subject)
        body_ref = find_ref(prefix, parsed.new_text, parsed.forwarded_text)
        if verdict is not None:
            return Analysis(item.id, parsed=parsed, verdict=verdict, received_at=received_at,
                            subject_ref=subject_ref, body_ref=body_ref, oversize=oversize)
        found = extract(parsed.customer_text, subject=parsed.subject, sender_address=parsed.from_address,
                        sender_name=parsed.from_name, config=config.extract,
                        mail_date=local_date(received_at, ZoneInfo(config.calendar.timezone)))
        hits = find_keywords(parsed.customer_text, config.routing.rules)
        return Analysis(item.id, parsed=_for_writer(parsed), found=found, received_at=received_at,
                        keyword_hits=hits, subject_ref=subject_ref, body_ref=body_ref, oversize=oversize)
    except MessageRejected as exc:
        return Analysis(item.id, error=f"MessageRejected: {exc}")
    except Exception as exc:  # a bug must cost one message, not the batch
        return Analysis(item.id, error=f"{type(exc).__name__} during analysis: {exc}")


ORPHAN_CHECK_SECONDS = 0.5
KILL_GRACE = 1.0  # seconds past the time limit before the watchdog kills a worker
WORKER_DIED = "the analysis worker died while analysing this message (killed, out of memory, or a parser fault)"
log = logging.getLogger(__name__)

# A complaint that takes every path of the analysis once: multipart with a windows-1258
# text part, an HTML alternative, an attachment, a quoted reply, phone, card, decoder, date.
_SAMPLE = b"""\
Received: from mx.example.net by mail.kplus.example; Mon, 2 Nov 2026 08:00:00 +0700
From: =?utf-8?B?Tmd1eeG7hW4gVsSDbiBBbg==?= <an.nguyen@example.net>
To: cskh@kplus.example
Subject: =?utf-8?Q?Khi=E1=BA=BFu_n=E1=BA=A1i_ph=C3=AD?=
Date: Mon, 2 Nov 2026 08:00:00 +0700
Message-ID: <warm-up@example.net>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset="windows-1258"
Content-Transfer-Encoding: quoted-printable

Ho=F2 t=EAn: Nguy=EA=DEn V=E3n An
=D0i=EA=F2n thoa=F2i: 0901 234 567
S=F4=EC the=D2: 1234 5678 9012, =F0a=DE thanh to=E1n ng=E0y 01/10/2026.

> Vao luc 10:00, K+ <cskh@kplus.example> da viet:
> Cam on quy khach.
--b2
Content-Type: text/html; charset="utf-8"

<html><body><p>M&atilde; &#273;&#7847;u thu: <b>KP12 3456</b></p><table><tr><td>x</td></tr></table></body></html>
--b2--

--b1
Content-Type: application/pdf; name="hoa-don.pdf"
Content-Disposition: attachment; filename="hoa-don.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
""".replace(b"\n", b"\r\n")


def warm_up(settings: AnalysisSettings) -> None:
    """Analyse :data:`_SAMPLE` once (and its HTML, which the plain part makes unused), so
    that every lazily loaded table is loaded now."""
    analyse(RawInbound(0, _SAMPLE, datetime(2026, 11, 2, 1, 0, tzinfo=UTC)), settings)
    html_to_text(_SAMPLE[_SAMPLE.index(b"<html>"):_SAMPLE.index(b"</html>") + 7].decode())


# Worker-process state, set once by the pool initializer (each worker is its own process).
_WORKER_SETTINGS: AnalysisSettings | None = None


class AnalysisTimeout(BaseException):
    """One message's analysis ran past ``parsing.max_analysis_seconds``. A BaseException: the
    parsers' own ``except Exception`` (each HTML part's conversion has one) must not swallow it
    and go on to the next part."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise AnalysisTimeout("took longer than the time limit (parsing.max_analysis_seconds)")


def _init_worker(settings: AnalysisSettings, parent: int) -> None:
    global _WORKER_SETTINGS
    _WORKER_SETTINGS = settings
    threading.Thread(target=_exit_with_parent, args=(parent,), name="mailproc-orphan-watch", daemon=True).start()
    # The memory bound: what the worker shares with the daemon now, plus the configured
    # allowance. Past it an allocation fails (MemoryError: that message is quarantined and the
    # worker frees it), instead of the kernel's OOM killer picking a process, maybe the daemon.
    allowance = settings.config.parsing.max_analysis_memory_mb * 1024 * 1024
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + allowance, resource.RLIM_INFINITY))
    signal.signal(signal.SIGALRM, _on_alarm)
    memory.tune()


def _address_space() -> int:
    """This process's virtual memory size now (bytes)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (killed, crashed) exits too, rather than linger as an
    orphan holding memory and the parent's stdout (the executor cannot tell it to)."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def _ready() -> bool:
    return _WORKER_SETTINGS is not None


def _analyse_bounded(item: RawInbound, settings: AnalysisSettings) -> Analysis:
    """:func:`analyse` under the time bound (an interval timer raises in the worker's thread)."""
    limit = settings.config.parsing.max_analysis_seconds
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, limit)
            return analyse(item, settings)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except AnalysisTimeout as exc:  # raised outside analyse()'s own handler (or just as it returned)
        return Analysis(item.id, error=f"analysis stopped: {exc} of {limit:g} s")


def _analyse_in_worker(items: list[RawInbound]) -> list[Analysis]:
    assert _WORKER_SETTINGS is not None
    try:
        return [_analyse_bounded(item, _WORKER_SETTINGS) for item in items]
    finally:
        # The standard library's MIME parser compiles a regex for every multipart boundary,
        # and ``re`` caches each one (up to 512): one-off patterns that would otherwise fill
        # the cache, and the worker's memory, over a long run. Patterns kept in module
        # variables stay compiled; a library's ``re.sub(string, ...)`` compiles again at most
        # once per chunk.
        re.purge()
        memory.give_back()  # a large message's pages go back to the system, not to this worker's heap


def _analyse_stored_in_worker(reader: RawReader, refs: list[StoredRef]) -> list[Analysis]:
    analyses: list[Analysis] = []
    for group in by_size(refs):
        try:
            analyses += _analyse_in_worker(read_stored(reader, group))
        except MemoryError:  # the group's bytes together are over the memory bound: one at a time
            for ref in group:
                try:
                    analyses += _analyse_in_worker(read_stored(reader, [ref]))
                except MemoryError:
                    analyses.append(Analysis(ref[0], error="MemoryError: the message does not fit in the analysis "
                                                           "worker's memory (parsing.max_analysis_memory_mb)"))
    return analyses


Piece = TypeVar("Piece", RawInbound, StoredRef)


def _inbound_id(piece: RawInbound | StoredRef) -> int:
    return piece.id if isinstance(piece, RawInbound) else piece[0]


class Analyzer:
    """Analyse batches in-process or, for large ones, across a process pool.

    ``workers`` defaults to ``scheduler.analysis_workers``; 0 means one per CPU, 1 disables
    the pool. The pool is created by :meth:`start` or on first use, and shut down by
    :meth:`close` (or the ``with`` block).
    """

    def __init__(self, config: Config, *, workers: int | None = None, pool_threshold: int = 1) -> None:
        self.settings = AnalysisSettings.from_config(config)
        workers = config.scheduler.analysis_workers if workers is None else workers
        # 0: one per CPU, and never fewer than two, so every message is analysed in a worker
        # under the time and memory bounds (1 is the unbounded in-process mode, for tests).
        self.workers = workers or max(2, os.cpu_count() or 1)
        self.pool_threshold = pool_threshold
        self.time_limit = config.parsing.max_analysis_seconds
        # Analyses still running when a processing run ended (a slow message): the next run
        # writes them when they are done, and does not hand their messages out again.
        self.leftovers: list[Pending] = []
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def start(self) -> None:
        """Fork the workers now rather than at the first large batch (no-op without a pool).

        A sample message is analysed here first: the parsers load their tables on first use
        (phone metadata, charset and HTML machinery, ...), and loaded before the fork they are
        shared with the workers instead of loaded again in each."""
        if self.parallel:
            warm_up(self.settings)
            self._get_pool().submit(_ready).result()

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # fork: workers start in milliseconds and never touch the parent's database
            # connections (they only parse); multiprocessing ends them with os._exit.
            # Freezing the objects that exist now (modules, config, templates) keeps every
            # later collection, in the workers and here, from writing to their pages, so
            # the workers go on sharing them with this process instead of copying them.
            # (No collection first, as gc's documentation advises: a full one costs 20 ms of
            # start-up and finds next to nothing after the warm-up.)
            re.purge()  # the workers start with an empty cache, and never copy its pages to empty it
            gc.freeze()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_init_worker, initargs=(self.settings, os.getpid()),
            )
        return self._pool

    @property
    def parallel(self) -> bool:
        """True when large batches go to worker processes."""
        return self.workers >= 2

    def submit(self, items: Sequence[RawInbound]) -> Pending:
        """Start analysing ``items``; ``.result()`` of the returned value waits for the analyses."""
        if not self.parallel or len(items) < self.pool_threshold:
            return Pending(done=[analyse(item, self.settings) for item in items])
        return self._spread(_analyse_in_worker, list(items))

    def submit_stored(self, reader: RawReader, refs: Sequence[StoredRef]) -> Pending:
        """Start analysing the stored messages ``refs``; whoever analyses them reads them."""
        if not self.parallel or len(refs) < self.pool_threshold:
            return Pending(done=[analyse(item, self.settings) for item in read_stored(reader, refs)])
        return self._spread(functools.partial(_analyse_stored_in_worker, reader), list(refs))

    def _spread(self, task: Callable[[list[Piece]], list[Analysis]], pieces: list[Piece]) -> Pending:
        pool = self._get_pool()
        size = -(-len(pieces) // (self.workers * 2))
        chunks = [pieces[i:i + size] for i in range(0, len(pieces), size)]
        # The watchdog: a worker stuck where the timer cannot reach (a long call into C code:
        # the regular expressions of the standard library's MIME parser on a huge part, lxml)
        # is killed past the limit per message of its chunk; the chunk is then analysed again
        # one message at a time, and the one that hangs is quarantined.
        deadline = time.monotonic() + self.time_limit * size + KILL_GRACE
        return Pending(futures=[pool.submit(task, chunk) for chunk in chunks],
                       recover=functools.partial(self.recover, task, pieces), deadline=deadline,
                       kill=self._kill_workers, chunks=[[_inbound_id(p) for p in chunk] for chunk in chunks],
                       recover_some=functools.partial(self._recover_ids, task, pieces))

    def _recover_ids(self, task: Callable[[list[Piece]], list[Analysis]], pieces: list[Piece],
                     ids: list[int]) -> list[Analysis]:
        wanted = set(ids)
        return self.recover(task, [p for p in pieces if _inbound_id(p) in wanted])

    def recover(self, task: Callable[[list[Piece]], list[Analysis]], pieces: list[Piece]) -> list[Analysis]:
        """Analyse ``pieces`` again after a worker died (killed, out of memory, a fault in a
        parser's C code): the broken pool is replaced, and each message goes alone to a
        fresh worker, so the one that kills its worker is quarantined with that reason and
        the others are analysed as usual."""
        log.warning("an analysis worker died; analysing the %d messages of its batch one by one", len(pieces))
        self._discard_pool()
        analyses = []
        for piece in pieces:
            future = self._get_pool().submit(task, [piece])
            try:
                analyses += future.result(timeout=self.time_limit + KILL_GRACE)
            except FuturesTimeout:
                log.error("inbound %s: its analysis ran past %g s and was killed; quarantined", _inbound_id(piece),
                          self.time_limit + KILL_GRACE)
                reason = f"analysis killed after {self.time_limit + KILL_GRACE:g} s (parsing.max_analysis_seconds)"
                analyses.append(Analysis(_inbound_id(piece), error=reason))
                self._kill_workers()
                self._discard_pool()
            except BrokenProcessPool:
                log.error("inbound %s: the analysis worker died on it; quarantined", _inbound_id(piece))
                analyses.append(Analysis(_inbound_id(piece), error=WORKER_DIED))
                self._discard_pool()
            except Exception as exc:
                log.error("inbound %s: its analysis failed (%s); quarantined", _inbound_id(piece), type(exc).__name__)
                analyses.append(Analysis(_inbound_id(piece), error=f"{type(exc).__name__} in the analysis worker"))
        return analyses

    def _kill_workers(self) -> None:
        """SIGKILL every worker of the pool (the executor then reports it broken)."""
        pool = self._pool
        processes = list(getattr(pool, "_processes", {}).values()) if pool is not None else []
        for process in processes:
            with contextlib.suppress(OSError, AttributeError):
                os.kill(process.pid, signal.SIGKILL)

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass
class Pending:
    """Analyses of one batch: finished already, or still running in the pool."""

    done: list[Analysis] | None = None
    futures: list[Future[list[Analysis]]] = field(default_factory=list)
    recover: Callable[[], list[Analysis]] | None = None  # after a worker died: analyse again
    deadline: float | None = None  # monotonic time past which the workers are killed
    kill: Callable[[], None] | None = None
    chunks: list[list[int]] = field(default_factory=list)  # the inbound ids of each future
    recover_some: Callable[[list[int]], list[Analysis]] | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def ids(self) -> list[int]:
        return [i for chunk in self.chunks for i in chunk] if self.done is None else [a.inbound_id for a in self.done]

    def take_ready(self, patience: float) -> tuple[list[Analysis], Pending | None]:
        """The analyses finished within ``patience`` seconds of the batch's start, and what is
        still running (a Pending of its own, or None): one slow message never holds up the
        rest of its batch. Past the deadline the workers are killed and the rest analysed again
        one by one (the one that hangs is quarantined)."""
        if self.done is not None:
            return self.done, None
        until = self.started + patience
        if self.deadline is not None:
            until = min(until, self.deadline + 0.01)
        wait(self.futures, timeout=max(0.0, until - time.monotonic()) if until != math.inf else None)
        ready: list[Analysis] = []
        still: list[tuple[Future[list[Analysis]], list[int]]] = []
        late = self.deadline is not None and time.monotonic() > self.deadline
        for future, ids in zip(self.futures, self.chunks, strict=True):
            if future.done():
                try:
                    ready += future.result()
                    continue
                except Exception:  # the worker died or was killed: one by one, below
                    pass
            elif not late:
                still.append((future, ids))
                continue
            else:
                assert self.kill is not None
                log.error("analysis workers stuck past the deadline: killed")
                self.kill()
            assert self.recover_some is not None
            ready += self.recover_some(ids)
        if not still:
            return ready, None
        rest = Pending(futures=[f for f, _ in still], chunks=[ids for _, ids in still], recover=None,
                       deadline=self.deadline, kill=self.kill, recover_some=self.recover_some, started=self.started)
        return ready, rest

    def result(self) -> list[Analysis]:
        if self.done is not None:
            return self.done
        try:
            analyses = []
            for future in self.futures:
                timeout = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
                try:
                    analyses += future.result(timeout=timeout)
                except FuturesTimeout:
                    assert self.kill is not None
                    log.error("analysis workers stuck past the deadline: killed")
                    self.kill()
                    raise BrokenProcessPool("killed past the deadline") from None
            return analyses
        except Exception:  # a worker died or was killed, or a chunk failed as a whole
            assert self.recover is not None
            return self.recover()
