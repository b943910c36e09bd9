"""Turn stored inbound rows into tickets, ticket messages, events and outbox rows.

``process_once`` reads ``new`` inbound rows in batches, has :mod:`mailproc.analysis.pool` parse
and extract them (in worker processes for large batches), and writes each batch in one
transaction: every row is handed to the dispositions in order
(:mod:`mailproc.workflow.dispositions`) and gets exactly one outcome — ``processed`` (a new
ticket or a reply joined to one), ``ignored`` (auto-reply, list mail, bounce — with the rule
that matched) or ``quarantined`` (with the error; the raw bytes stay). Lookups are fetched
once per batch and the batch is flushed once; if anything in a batch fails, the batch is
rolled back and replayed row by row in savepoints, so one bad message never takes the others
with it.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailproc.analysis.pool import Analysis, Analyzer, Pending, StoredRef
from mailproc.core.context import Context
from mailproc.core.crashpoints import crash_point
from mailproc.core.report import StageReport
from mailproc.core.roster import AuthResult
from mailproc.store.db import RawReader, claim_query, engine_of, is_outage, reading, transaction
from mailproc.store.models import InboundMessage, InboundRaw
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.batch import BatchState, Claimed, insert_created, prefetch
from mailproc.workflow.dispositions import PIPELINE
from mailproc.workflow.dispositions.base import Mail
from mailproc.workflow.dkim_check import verify_agent_dkim
from mailproc.workflow.tickets import note_oversize

log = logging.getLogger(__name__)
ANALYSIS_AHEAD = 3  # batches handed to the worker pool ahead of the one being written
SLOW_SECONDS = 1.0  # an analysis still running this long after its batch was handed out is slow


@dataclass
class ProcessReport(StageReport):
    stage = "process"
    processed: int = 0
    created: int = 0
    replies: int = 0
    ignored: int = 0
    bounces: int = 0
    quarantined: int = 0
    agent_mail: int = 0

    def count(self, outcome: Outcome) -> None:
        self.processed += 1
        for name in _COUNTED[outcome]:
            setattr(self, name, getattr(self, name) + 1)

    def __str__(self) -> str:
        return (f"process: handled={self.processed} new_tickets={self.created} replies={self.replies} "
                f"agent_mail={self.agent_mail} ignored={self.ignored} bounces={self.bounces} "
                f"quarantined={self.quarantined}")


# Which counters each outcome adds to (besides "processed"); every Outcome is listed.
_COUNTED: dict[Outcome, tuple[str, ...]] = {
    Outcome.CREATED: ("created",),
    Outcome.REPLY: ("replies",),
    Outcome.AGENT: ("agent_mail",),
    Outcome.IGNORED: ("ignored",),
    Outcome.BOUNCE: ("bounces", "ignored"),
    Outcome.QUARANTINED: ("quarantined",),
}


def dispose(session: Session, ctx: Context, state: BatchState, row: Claimed, a: Analysis,
            now: datetime) -> Outcome:
    """Give one inbound row its outcome: the first disposition that claims it decides."""
    row.attempts += 1
    row.processed_at = now
    mail = Mail(row, a, state)
    for disposition in PIPELINE:
        disposed = disposition(session, ctx, state, mail, now)
        if disposed is not None:
            row.status, row.outcome, row.error = disposed.status, disposed.note, disposed.error
            row.ticket = disposed.ticket
            if a.oversize and disposed.ticket is not None:
                note_oversize(session, ctx, state, disposed.ticket, row.id, a.oversize, now)
            return disposed.outcome
    raise AssertionError("the last disposition claims every message")  # pragma: no cover


def _check_agents_dkim(ctx: Context, reader: RawReader, analyses: list[Analysis],
                       now: datetime) -> dict[int, AuthResult]:
    """mailproc's own DKIM check of the batch's mail from agents (``[auth] verify_dkim``)."""
    if not ctx.config.auth.verify_dkim:
        return {}
    agents = [a for a in analyses if a.parsed is not None and a.verdict is None and a.error is None
              and ctx.roster.get(a.parsed.from_address) is not None]
    if not agents:
        return {}
    raws = reader.read([a.inbound_id for a in agents])
    ours = [address for box in ctx.config.all_mailboxes() for address in (box.username, box.from_address) if address]
    results: dict[int, AuthResult] = {}
    for a in agents:
        assert a.parsed is not None and a.parsed.from_address is not None
        raw = raws.get(a.inbound_id)
        if raw is None:
            continue
        try:
            results[a.inbound_id] = verify_agent_dkim(
                raw, a.parsed.from_address, ours, now,
                max_age=timedelta(days=ctx.config.auth.dkim_max_age_days), dnsfunc=ctx.dns)
        except Exception as exc:  # a hostile message must not stop the batch: it is simply not vouched for
            results[a.inbound_id] = AuthResult(False, f"DKIM check failed: {type(exc).__name__}")
    return results


# --- the batch loop ------------------------------------------------------------------------

def _next_refs(factory: sessionmaker[Session], after_id: int, limit: int) -> list[StoredRef]:
    """The next ``new`` inbound rows to analyse (their bytes are read where they are analysed)."""
    with reading(factory) as session:
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.fetched_at, InboundMessage.size)
            .where(InboundMessage.status == InboundStatus.NEW, InboundMessage.id > after_id)
            .order_by(InboundMessage.id).limit(limit))
        return [(r.id, r.fetched_at, r.size or 0) for r in rows]


def _claim(session: Session, engine: Engine, ids: list[int]) -> dict[int, Claimed]:
    stmt = (select(InboundMessage.id, InboundMessage.folder, InboundMessage.message_id, InboundMessage.attempts,
                   InboundMessage.mailbox)
            .where(InboundMessage.id.in_(ids), InboundMessage.status == InboundStatus.NEW))
    return {r.id: Claimed(r.id, r.folder, r.message_id, r.attempts, r.mailbox)
            for r in session.execute(claim_query(stmt, engine))}


_INBOUND = cast(Table, InboundMessage.__table__)
_OUTCOME = (update(_INBOUND)
            .where(_INBOUND.c.id == bindparam("row_id"))
            .values(status=bindparam("status"), outcome=bindparam("outcome"), error=bindparam("error"),
                    ticket_id=bindparam("ticket_id"), attempts=bindparam("attempts"),
                    processed_at=bindparam("processed_at")))


def _record_outcomes(session: Session, rows: Iterable[Claimed]) -> None:
    """The claimed rows' outcomes in one executemany (after the flush that gave their new
    tickets ids)."""
    values = [row.values() for row in rows if row.status != InboundStatus.NEW]
    if values:
        session.execute(_OUTCOME, values)


def _write_fast(factory: sessionmaker[Session], engine: Engine, ctx: Context, analyses: list[Analysis],
                now: datetime, dkim: dict[int, AuthResult]) -> list[Outcome]:
    """The whole batch in one transaction with one flush; raises if anything fails."""
    with transaction(factory) as session, session.no_autoflush:
        rows = _claim(session, engine, [a.inbound_id for a in analyses])
        state = prefetch(session, ctx, analyses, now)
        state.dkim = dkim
        outcomes = [dispose(session, ctx, state, rows[a.inbound_id], a, now) for a in analyses if a.inbound_id in rows]
        insert_created(session, state)
        session.flush()
        state.write(session)
        _record_outcomes(session, rows.values())
        crash_point("pipeline.before_commit")
    _log_quarantined(rows.values())
    return outcomes


def _write_safe(factory: sessionmaker[Session], engine: Engine, ctx: Context, analyses: list[Analysis],
                now: datetime, dkim: dict[int, AuthResult]) -> list[Outcome]:
    """Row by row in savepoints: a row whose write fails is quarantined, the rest go on."""
    outcomes: list[Outcome] = []
    with transaction(factory) as session:
        rows = _claim(session, engine, [a.inbound_id for a in analyses])
        for a in analyses:
            row = rows.get(a.inbound_id)
            if row is None:
                continue
            try:
                with session.begin_nested(), session.no_autoflush:
                    state = prefetch(session, ctx, [a], now)
                    state.dkim = dkim
                    outcome = dispose(session, ctx, state, row, a, now)
                    insert_created(session, state)
                    session.flush()
                    state.write(session)
                    _record_outcomes(session, [row])
            except Exception as exc:
                if is_outage(exc):
                    raise  # the database's fault, not this row's: nothing is quarantined for it
                row.status, row.outcome, row.ticket = InboundStatus.QUARANTINED, "quarantined", None
                row.error = f"{type(exc).__name__} while writing: {exc}"[:4000]
                row.processed_at = now
                _record_outcomes(session, [row])
                outcome = Outcome.QUARANTINED
            outcomes.append(outcome)
        crash_point("pipeline.before_commit")
    _log_quarantined(rows.values())
    return outcomes


def _log_quarantined(rows: Iterable[Claimed]) -> None:
    """Called once the batch is committed: "quarantined" is logged only when it was."""
    for row in rows:
        if row.status == InboundStatus.QUARANTINED:
            log.error("quarantined inbound %s <%s>: %s", row.id, row.message_id, (row.error or "")[:300])


def process_once(factory: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime],
                 limit: int | None = None, workers: int | None = None,
                 analyzer: Analyzer | None = None, finish: bool = True) -> ProcessReport:
    """Process every ``new`` inbound row (in batches); return the counts.

    While one batch is written, the next ``ANALYSIS_AHEAD`` are already being analysed by
    the worker pool, so the workers never wait for the writer. A message whose analysis is
    still running ``SLOW_SECONDS`` after its batch was handed out does not hold up the rest
    of the batch; with ``finish=False`` (the daemon) the run even ends without it, and the
    next run writes it (each message's time limit bounds how long). Pass an ``analyzer`` to
    reuse its pool across calls (it is then not closed here).
    """
    if analyzer is None:
        with Analyzer(ctx.config, workers=workers) as own:
            return process_once(factory, ctx, now=now, limit=limit, analyzer=own)
    engine = engine_of(factory)
    report = ProcessReport()
    batch = ctx.config.scheduler.process_batch
    ahead = ANALYSIS_AHEAD if analyzer.parallel else 1
    in_flight: deque[tuple[int, Pending]] = deque((0, p) for p in analyzer.leftovers)
    analyzer.leftovers = []
    busy = {i for _, p in in_flight for i in p.ids}  # handed out already: never twice
    reader = RawReader.for_engine(engine, cast(Table, InboundRaw.__table__))
    loaded, last_id = 0, 0
    while True:
        while len(in_flight) < ahead and (limit is None or loaded < limit):
            page = _next_refs(factory, last_id, batch if limit is None else min(batch, limit - loaded))
            if not page:
                break
            last_id = page[-1][0]
            refs = [ref for ref in page if ref[0] not in busy]
            if not refs:
                continue
            loaded += len(refs)
            busy.update(ref[0] for ref in refs)
            in_flight.append((last_id, analyzer.submit_stored(reader, refs)))
        if not in_flight:
            break
        last, pending = in_flight.popleft()
        # With nothing else to do and the run to finish, wait for it (its deadline bounds that).
        analyses, rest = pending.take_ready(SLOW_SECONDS if in_flight or not finish else math.inf)
        if rest is not None:
            if finish or in_flight or analyses:
                in_flight.append((last, rest))  # the others first; back to it after them
            else:
                analyzer.leftovers.append(rest)  # only slow ones left: the next run writes them
        busy.difference_update(a.inbound_id for a in analyses)
        if not analyses:
            continue
        dkim = _check_agents_dkim(ctx, reader, analyses, now())  # DNS: before, not inside, the transaction
        try:
            outcomes = _write_fast(factory, engine, ctx, analyses, now(), dkim)
        except Exception as exc:  # one line, no traceback, no values: the rows are other customers' data
            if is_outage(exc):
                raise  # the database or the disk failed, not a row: the batch stays new, for the next run
            log.warning("batch ending at inbound %s failed as a whole (%s); replaying it row by row", last,
                        type(exc).__name__)
            outcomes = _write_safe(factory, engine, ctx, analyses, now(), dkim)
        for outcome in outcomes:
            report.count(outcome)
    if report.processed:
        log.info("%s", report)
    return report


def retry_quarantined(factory: sessionmaker[Session], inbound_id: int) -> bool:
    """Put a quarantined message back in the queue; False if it is not quarantined."""
    with transaction(factory) as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.status != InboundStatus.QUARANTINED:
            return False
        row.status, row.error, row.outcome = InboundStatus.NEW, None, None
        return True

