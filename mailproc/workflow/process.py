"""Turn stored inbound rows into tickets, ticket messages, events and outbox rows.

``process_once`` reads ``new`` inbound rows in batches, has :mod:`mailproc.analysis.pool` parse and
extract them (in worker processes for large batches), and writes each batch in one
transaction: every row gets exactly one outcome — ``processed`` (a new ticket or a reply
joined to one), ``ignored`` (auto-reply, list mail, bounce — with the rule that matched) or
``quarantined`` (with the error; the raw bytes stay). Lookups are fetched once per batch and
the batch is flushed once; if anything in a batch fails, the batch is rolled back and
replayed row by row in savepoints, so one bad message never takes the others with it.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailproc.analysis.extract.fields import Extracted
from mailproc.analysis.filters import BOUNCE
from mailproc.analysis.parsing import ParsedMail
from mailproc.analysis.pool import Analysis, Analyzer, Pending, StoredRef, local_date
from mailproc.analysis.routing import route
from mailproc.analysis.threads import clean_subject
from mailproc.core.crashpoints import crash_point
from mailproc.core.roster import authenticate
from mailproc.core.textnorm import fold
from mailproc.notices.outbox import AUTOMATIC_KINDS
from mailproc.store.db import RawReader, claim_query, insert_ignoring_conflicts, reading, transaction
from mailproc.store.models import (
    INBOUND_DONE,
    INBOUND_IGNORED,
    INBOUND_NEW,
    INBOUND_QUARANTINED,
    Counter,
    InboundMessage,
    InboundRaw,
    OutboxItem,
    Ticket,
    TicketMessage,
)
from mailproc.workflow.agentmail import file_sent_copy, handle_agent_mail
from mailproc.workflow.assess import FLAG_MISSING, STATUS_ASSESSING, STATUS_L1, assess, missing_fields
from mailproc.workflow.states import DONE_STATES, L2, Step
from mailproc.workflow.steps import (
    IDENTIFIER_FIELDS,
    Context,
    Sink,
    base_context,
    insert_rows,
    notify_agents,
    queue_agents,
    queue_notice,
    run_step,
    set_status,
)

log = logging.getLogger(__name__)
SYSTEM = "mailproc"
ANALYSIS_AHEAD = 3  # batches handed to the worker pool ahead of the one being written


@dataclass
class ProcessReport:
    processed: int = 0
    created: int = 0
    replies: int = 0
    ignored: int = 0
    bounces: int = 0
    quarantined: int = 0
    agent_mail: int = 0

    def add(self, other: ProcessReport) -> None:
        for name in ("processed", "created", "replies", "ignored", "bounces", "quarantined", "agent_mail"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self, outcome: str) -> None:
        self.processed += 1
        if outcome == "created":
            self.created += 1
        elif outcome == "reply":
            self.replies += 1
        elif outcome == "bounce":
            self.bounces += 1
            self.ignored += 1
        elif outcome == "ignored":
            self.ignored += 1
        elif outcome == "agent":
            self.agent_mail += 1
        else:
            self.quarantined += 1

    def __str__(self) -> str:
        return (f"process: handled={self.processed} new_tickets={self.created} replies={self.replies} "
                f"agent_mail={self.agent_mail} ignored={self.ignored} bounces={self.bounces} "
                f"quarantined={self.quarantined}")


@dataclass
class BatchState(Sink):
    """Lookups fetched once per batch, kept current as the batch adds tickets and notices;
    the rows hanging off tickets are collected (Sink) and inserted in bulk after the flush."""

    by_ref: dict[str, Ticket] = field(default_factory=dict)
    by_message_id: dict[str, Ticket] = field(default_factory=dict)
    recent_auto: dict[str, list[datetime]] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    card_history: dict[str, list[datetime]] = field(default_factory=dict)
    created: list[Ticket] = field(default_factory=list)


@dataclass
class Claimed:
    """A claimed ``new`` inbound row: what processing reads of it, and the outcome it is
    given. The outcomes of a batch are written in one UPDATE, after its tickets are flushed
    (the rows are not loaded as ORM objects: nothing else of them is read or changed)."""

    id: int
    folder: str
    message_id: str | None
    attempts: int
    status: str = INBOUND_NEW
    outcome: str | None = None
    error: str | None = None
    ticket: Ticket | None = None
    processed_at: datetime | None = None

    def values(self) -> dict[str, Any]:
        return {"row_id": self.id, "status": self.status, "outcome": self.outcome, "error": self.error,
                "ticket_id": self.ticket.id if self.ticket is not None else None, "attempts": self.attempts,
                "processed_at": self.processed_at}


def _refs_and_ids(analyses: Iterable[Analysis]) -> tuple[set[str], set[str], set[str]]:
    refs: set[str] = set()
    ids: set[str] = set()
    senders: set[str] = set()
    for a in analyses:
        if a.parsed is None:  # (filtered mail too: a Sent-folder copy is "our own mail")
            continue
        for ref in (a.subject_ref, a.body_ref):
            if ref:
                refs.add(ref)
        ids.update(a.parsed.in_reply_to)
        ids.update(a.parsed.references)
        if a.parsed.from_address:
            senders.add(a.parsed.from_address)
    return refs, ids, senders


def prefetch(session: Session, ctx: Context, analyses: list[Analysis], now: datetime) -> BatchState:
    """One round of queries for the whole batch instead of several per message."""
    state = BatchState()
    refs, ids, senders = _refs_and_ids(analyses)
    tickets: dict[int, Ticket] = {}
    if refs:
        for ticket in session.scalars(select(Ticket).where(Ticket.ref.in_(refs))):
            tickets[ticket.id] = ticket
            state.by_ref[ticket.ref] = ticket
    if ids:
        pairs = list(session.execute(select(TicketMessage.message_id, TicketMessage.ticket_id)
                                     .where(TicketMessage.message_id.in_(ids))))
        pairs += list(session.execute(select(OutboxItem.message_id, OutboxItem.ticket_id)
                                      .where(OutboxItem.message_id.in_(ids), OutboxItem.ticket_id.is_not(None))))
        wanted = {tid for _, tid in pairs if tid not in tickets}
        if wanted:
            for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(wanted))):
                tickets[ticket.id] = ticket
        for message_id, ticket_id in pairs:
            if message_id and ticket_id in tickets:
                state.by_message_id.setdefault(message_id, tickets[ticket_id])
    if tickets:
        state.dedupe_keys.update(session.scalars(
            select(OutboxItem.dedupe_key).where(OutboxItem.ticket_id.in_(list(tickets)))))
    cards = {a.found.smartcard for a in analyses if a.found is not None and a.found.smartcard}
    days = max((r.repeat_card_days for r in ctx.config.routing.rules), default=0)
    if cards and days:
        for card, received in session.execute(select(Ticket.smartcard, Ticket.received_at).where(
                Ticket.smartcard.in_(cards), Ticket.received_at >= now - timedelta(days=days + 1))):
            if card:
                state.card_history.setdefault(card, []).append(received)
    if senders:
        rows = session.execute(
            select(OutboxItem.to_address, OutboxItem.created_at).where(
                OutboxItem.to_address.in_(senders), OutboxItem.kind.in_(AUTOMATIC_KINDS),
                OutboxItem.created_at > now - timedelta(days=1)))
        for address, created in rows:
            state.recent_auto.setdefault(address, []).append(created)
    return state


def next_ref(session: Session, state: BatchState, prefix: str, year: int) -> str:
    """Allocate the next ``PREFIX-YYYY-NNNNNN`` from a row-locked counter (gap-free per year)."""
    name = f"ref:{prefix}:{year}"
    counter = state.counters.get(name)
    if counter is None:
        session.execute(insert_ignoring_conflicts(session, Counter, "name").values(name=name, value=0))
        counter = session.get(Counter, name, with_for_update=True, populate_existing=True)
        assert counter is not None
        state.counters[name] = counter
    counter.value += 1
    return f"{prefix}-{year:04d}-{counter.value:06d}"


def ticket_identifiers(ticket: Ticket) -> Extracted:
    return Extracted(
        name=ticket.name, address=ticket.address, phone=ticket.phone, email=ticket.email,
        smartcard=ticket.smartcard, decoder=ticket.decoder, incident_date=ticket.incident_date,
        category=ticket.category,
    )


def _apply_identifiers(ticket: Ticket, found: Extracted) -> list[str]:
    """Copy identifiers onto the ticket; return the names of the fields that changed."""
    changed = []
    for name in (*IDENTIFIER_FIELDS, "incident_date", "category"):
        value = getattr(found, name)
        if value is not None and getattr(ticket, name) != value:
            setattr(ticket, name, value)
            changed.append(name)
    return changed


def notice_context(ctx: Context, ticket: Ticket, parsed: ParsedMail | None = None) -> dict[str, Any]:
    """What the customer-facing templates may show (card and phone masked)."""
    return {**base_context(ctx, ticket), "excerpt": (parsed.new_text if parsed else "")[:600]}


def _over_cap(ctx: Context, state: BatchState, address: str, now: datetime) -> str | None:
    recent = state.recent_auto.get(address, [])
    caps = ((timedelta(hours=1), ctx.config.notices.max_per_sender_per_hour, "hour"),
            (timedelta(days=1), ctx.config.notices.max_per_sender_per_day, "day"))
    for window, cap, label in caps:
        count = sum(1 for created in recent if created > now - window)
        if count >= cap:
            return f"{count} automatic notices to this address in the last {label} (cap {cap})"
    return None


def _queue_customer_notice(ctx: Context, state: BatchState, ticket: Ticket,
                           parsed: ParsedMail, kind: str, dedupe_key: str, now: datetime) -> str:
    """Queue a receipt or a request for information to the customer; return what happened."""
    to = parsed.from_address or ""
    if dedupe_key in state.dedupe_keys:
        return "duplicate"
    limited = _over_cap(ctx, state, to, now)
    if limited:
        state.event(ticket, "notice_suppressed", now, notice=kind, reason=limited)
        if "rate_limited" not in ticket.flags:
            ticket.flags = [*ticket.flags, "rate_limited"]
        return "rate_limited"
    outcome = queue_notice(ctx, state, ticket, kind=kind, to=to, dedupe_key=dedupe_key,
                           context=notice_context(ctx, ticket, parsed), now=now,
                           in_reply_to=parsed.message_id, references=parsed.references)
    if outcome == "queued":
        state.recent_auto.setdefault(to, []).append(now)
    return outcome


def _create_ticket(session: Session, ctx: Context, state: BatchState, row: Claimed, a: Analysis,
                   now: datetime) -> Ticket:
    cfg = ctx.config
    parsed, found = a.parsed, a.found
    assert parsed is not None and found is not None and a.received_at is not None
    received_local = local_date(a.received_at, ctx.tz)
    verdict = assess(found, received_local, cfg=cfg.assess, cal_cfg=cfg.calendar, cal=ctx.calendar)
    ticket = Ticket(
        ref=next_ref(session, state, cfg.notices.ref_prefix, received_local.year),
        status=verdict.status, queue=verdict.queue,
        subject=clean_subject(cfg.notices.ref_prefix, parsed.subject)[:255] or "(không có tiêu đề)",
        customer_address=parsed.from_address or "",
        received_at=a.received_at, accept_due=verdict.accept_due, reply_due=verdict.reply_due,
        time_limit=verdict.time_limit, flags=list(verdict.flags), missing=list(verdict.missing),
        created_at=now, updated_at=now,
        # Every column with a default set here too: new tickets are inserted by Core, which
        # writes what the object holds (see _insert_created).
        priority="normal", category="other", rules=[], reopened=0,
    )
    _apply_identifiers(ticket, found)
    state.created.append(ticket)  # (not added to the session: _insert_created inserts it)
    state.by_ref[ticket.ref] = ticket
    if parsed.message_id:
        state.by_message_id[parsed.message_id] = ticket
    state.file_message(ticket, row, parsed, now, body=parsed.customer_text)
    state.event(ticket, "received", now, inbound_id=row.id, message_id=parsed.message_id,
           found=dict(found.confidence))
    state.event(ticket, "assessed", now, missing=list(verdict.missing), time_limit=verdict.time_limit,
                reason=verdict.time_limit_reason, flags=list(verdict.flags))
    if verdict.queue:
        _route(session, ctx, state, ticket, parsed.customer_text, now, a.keyword_hits)
    if ticket.smartcard:
        state.card_history.setdefault(ticket.smartcard, []).append(ticket.received_at)
    kind = "need_info" if verdict.missing else "receipt"
    key = f"need_info:{ticket.ref}:{row.id}" if verdict.missing else f"receipt:{ticket.ref}"
    _queue_customer_notice(ctx, state, ticket, parsed, kind, key, now)
    log.debug("ticket %s created from <%s>: status=%s missing=%s", ticket.ref, parsed.message_id,
             ticket.status, ",".join(verdict.missing) or "-")
    return ticket


def _route(session: Session, ctx: Context, state: BatchState, ticket: Ticket, text: str, now: datetime,
           keyword_hits: dict[str, str] | None = None) -> None:
    """Queue and priority from the routing rules; the queue's agents are told."""
    history = [t for t in state.card_history.get(ticket.smartcard or "", []) if t != ticket.received_at]
    decided = route(text, ticket.category, rules=ctx.config.routing.rules, card_history=history,
                    received_at=ticket.received_at, keyword_hits=keyword_hits)
    set_status(ticket, STATUS_L1 if decided.queue == "L1" else L2, now)
    ticket.priority, ticket.rules = decided.priority, list(decided.fired)
    state.event(ticket, "routed", now, queue=decided.queue, priority=decided.priority, rules=list(decided.fired),
                reasons=list(decided.reasons))
    notify_agents(session, ctx, state, ticket, queue_agents(ctx, ticket), "agent_notice",
                  f"agent_notice:{ticket.ref}:new:{ticket.queue}", now, event="new")


def _find_ticket(state: BatchState, a: Analysis) -> Ticket | None:
    """The ticket a message belongs to: by the tag in its subject, then by In-Reply-To and
    References, then by a tag in its text (a forward that lost its headers)."""
    assert a.parsed is not None
    if a.subject_ref and a.subject_ref in state.by_ref:
        return state.by_ref[a.subject_ref]
    for message_id in (*a.parsed.in_reply_to, *reversed(a.parsed.references)):
        if message_id in state.by_message_id:
            return state.by_message_id[message_id]
    return state.by_ref.get(a.body_ref) if a.body_ref else None


def _is_customer(ticket: Ticket, sender: str | None) -> bool:
    return bool(sender) and sender in {ticket.customer_address.lower(), (ticket.email or "").lower()}


def _join_reply(session: Session, ctx: Context, state: BatchState, ticket: Ticket, row: Claimed, a: Analysis,
                now: datetime) -> None:
    parsed, found = a.parsed, a.found
    assert parsed is not None and found is not None
    state.file_message(ticket, row, parsed, now, body=parsed.customer_text)
    if parsed.message_id:
        state.by_message_id.setdefault(parsed.message_id, ticket)
    ticket.updated_at = now
    if not _is_customer(ticket, parsed.from_address):
        state.event(ticket, "message_from_other_sender", now, inbound_id=row.id, sender=parsed.from_address,
               message_id=parsed.message_id)
        return
    state.event(ticket, "customer_reply", now, inbound_id=row.id, message_id=parsed.message_id)
    if ticket.status in DONE_STATES:
        _maybe_reopen(session, ctx, state, ticket, parsed, row, now)
        return
    if ticket.status != STATUS_ASSESSING:
        notify_agents(session, ctx, state, ticket, queue_agents(ctx, ticket), "agent_notice",
                      f"agent_notice:{ticket.ref}:reply:{row.id}", now, event="customer_reply",
                      message=parsed.new_text)
    merged = ticket_identifiers(ticket).merged_with(found)
    changed = _apply_identifiers(ticket, merged)
    if changed:
        state.event(ticket, "identifiers_added", now, fields=changed)
    if ticket.status != STATUS_ASSESSING:
        return
    missing = missing_fields(merged, ctx.config.assess.required)
    ticket.missing = list(missing)
    if missing:
        key = f"need_info:{ticket.ref}:{row.id}"
        _queue_customer_notice(ctx, state, ticket, parsed, "need_info", key, now)
        return
    ticket.flags = [f for f in ticket.flags if f != FLAG_MISSING]
    state.event(ticket, "info_complete", now, fields=changed)
    _route(session, ctx, state, ticket, parsed.customer_text, now)
    _queue_customer_notice(ctx, state, ticket, parsed, "receipt", f"receipt:{ticket.ref}", now)


_THANKS = re.compile(r"\b(?:cam on|thank|thanks|da nhan duoc|ok)\b")
_STILL_BROKEN = re.compile(r"\b(?:chua|khong|van|still|not|again|lai)\b")


def _maybe_reopen(session: Session, ctx: Context, state: BatchState, ticket: Ticket, parsed: ParsedMail,
                  row: Claimed, now: datetime) -> None:
    """A customer writing back about a finished ticket: reopen at L2 unless it is only a thank-you."""
    folded = fold(parsed.new_text)
    if len(folded) < 200 and _THANKS.search(folded) and not _STILL_BROKEN.search(folded):
        state.event(ticket, "thanks_received", now, inbound_id=row.id)
        return
    decision = run_step(session, ctx, state, ticket, Step("reopen"), actor=ticket.customer_address, now=now,
                        tag=str(row.id))
    if not decision.ok:
        state.event(ticket, "reopen_refused", now, reason=decision.reason)
        notify_agents(session, ctx, state, ticket, ctx.roster.supervisors(), "agent_notice",
                      f"agent_notice:{ticket.ref}:late_reply:{row.id}", now, event="customer_reply_after_close",
                      message=parsed.new_text)


def _record_bounce(session: Session, state: BatchState, parsed: ParsedMail, now: datetime) -> str:
    report = parsed.report
    original = report.original_message_id if report else None
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == original)) if original else None
    if item is None:
        return "bounce (no matching outgoing mail)"
    reason = " ".join(filter(None, [report.status if report else None, report.diagnostic if report else None]))
    item.bounced_at, item.bounce_reason = now, (reason or "bounced")[:2000]
    if item.ticket is not None:
        state.event(item.ticket, "notice_bounced", now, outbox_id=item.id, reason=item.bounce_reason)
    log.warning("outbox %s (<%s>) bounced: %s", item.id, original, item.bounce_reason)
    return f"bounce of outbox {item.id}"


def apply(session: Session, ctx: Context, state: BatchState, row: Claimed, a: Analysis,
          now: datetime) -> str:
    """Give one inbound row its outcome from its analysis; returns the outcome's name."""
    row.attempts += 1
    row.processed_at = now
    if a.error is not None or a.parsed is None:
        row.status, row.outcome, row.error = INBOUND_QUARANTINED, "quarantined", (a.error or "no analysis")[:4000]
        log.error("quarantined inbound %s <%s>: %s", row.id, row.message_id, row.error)
        return "quarantined"
    if ctx.config.imap.sent_folder and row.folder == ctx.config.imap.sent_folder:
        ticket = _find_ticket(state, a)
        outcome = file_sent_copy(ctx, state, ticket, row, a.parsed, now)
        row.status, row.ticket, row.outcome = (INBOUND_DONE if ticket else INBOUND_IGNORED), ticket, outcome
        return "reply" if ticket else "ignored"
    if a.verdict is not None:
        row.status = INBOUND_IGNORED
        if a.verdict.rule == BOUNCE:
            row.outcome = _record_bounce(session, state, a.parsed, now)[:255]
            return "bounce"
        row.outcome = f"{a.verdict.rule}: {a.verdict.reason}"[:255]
        return "ignored"
    ticket = _find_ticket(state, a)
    agent = ctx.roster.get(a.parsed.from_address)
    if agent is not None:
        auth = authenticate(a.parsed.headers, a.parsed.from_address, ctx.config.auth.trusted_authserv_ids)
        if auth.ok:
            outcome = handle_agent_mail(session, ctx, state, ticket, row, a.parsed, agent, now)
            row.status, row.ticket, row.outcome = INBOUND_DONE, ticket, outcome
            return "agent"
        log.warning("mail from agent address %s is not authenticated (%s): treated as any other sender",
                    a.parsed.from_address, auth.reason)
        if ticket is not None:
            state.event(ticket, "unauthenticated_agent_mail", now, sender=a.parsed.from_address, reason=auth.reason)
    if ticket is not None:
        _join_reply(session, ctx, state, ticket, row, a, now)
        outcome, verb = "reply", "joined"
    else:
        ticket = _create_ticket(session, ctx, state, row, a, now)
        outcome, verb = "created", "created"
    row.status, row.ticket = INBOUND_DONE, ticket
    row.outcome = f"{verb} {ticket.ref}"
    return outcome


# --- the batch loop ------------------------------------------------------------------------

def _next_refs(factory: sessionmaker[Session], after_id: int, limit: int) -> list[StoredRef]:
    """The next ``new`` inbound rows to analyse (their bytes are read where they are analysed)."""
    with reading(factory) as session:
        rows = session.execute(
            select(InboundMessage.id, InboundMessage.fetched_at)
            .where(InboundMessage.status == INBOUND_NEW, InboundMessage.id > after_id)
            .order_by(InboundMessage.id).limit(limit))
        return [(r.id, r.fetched_at) for r in rows]


def _claim(session: Session, engine: Engine, ids: list[int]) -> dict[int, Claimed]:
    stmt = (select(InboundMessage.id, InboundMessage.folder, InboundMessage.message_id, InboundMessage.attempts)
            .where(InboundMessage.id.in_(ids), InboundMessage.status == INBOUND_NEW))
    return {r.id: Claimed(r.id, r.folder, r.message_id, r.attempts) for r in session.execute(claim_query(stmt, engine))}


_INBOUND = cast(Table, InboundMessage.__table__)
_OUTCOME = (update(_INBOUND)
            .where(_INBOUND.c.id == bindparam("row_id"))
            .values(status=bindparam("status"), outcome=bindparam("outcome"), error=bindparam("error"),
                    ticket_id=bindparam("ticket_id"), attempts=bindparam("attempts"),
                    processed_at=bindparam("processed_at")))


def _record_outcomes(session: Session, rows: Iterable[Claimed]) -> None:
    """The claimed rows' outcomes in one executemany (after the flush that gave their new
    tickets ids)."""
    values = [row.values() for row in rows if row.status != INBOUND_NEW]
    if values:
        session.execute(_OUTCOME, values)


_TICKET_ATTRIBUTES = tuple((prop.key, prop.columns[0].key) for prop in inspect(Ticket).column_attrs)


def _insert_created(session: Session, state: BatchState) -> None:
    """Insert the batch's new tickets in one multi-row INSERT, ids given up front.

    They were never added to the session: its unit of work would cost more than everything
    else the batch does with the ORM, and nothing in the batch needs them managed (rows that
    point at them are written after this, by Core; changes to them are made before it). They
    stay plain objects: whatever they hold now is what is stored."""
    fresh = [ticket for ticket in state.created if ticket.id is None]
    ids = insert_rows(session, Ticket, [{column: getattr(ticket, attribute) for attribute, column in _TICKET_ATTRIBUTES}
                                        for ticket in fresh], with_ids=True)
    for ticket, ticket_id in zip(fresh, ids, strict=True):
        ticket.id = ticket_id


def _write_fast(factory: sessionmaker[Session], engine: Engine, ctx: Context, analyses: list[Analysis],
                now: datetime) -> list[str]:
    """The whole batch in one transaction with one flush; raises if anything fails."""
    with transaction(factory) as session, session.no_autoflush:
        rows = _claim(session, engine, [a.inbound_id for a in analyses])
        state = prefetch(session, ctx, analyses, now)
        outcomes = [apply(session, ctx, state, rows[a.inbound_id], a, now) for a in analyses if a.inbound_id in rows]
        _insert_created(session, state)
        session.flush()
        state.write(session)
        _record_outcomes(session, rows.values())
        crash_point("pipeline.before_commit")
    return outcomes


def _write_safe(factory: sessionmaker[Session], engine: Engine, ctx: Context, analyses: list[Analysis],
                now: datetime) -> list[str]:
    """Row by row in savepoints: a row whose write fails is quarantined, the rest go on."""
    outcomes: list[str] = []
    with transaction(factory) as session:
        rows = _claim(session, engine, [a.inbound_id for a in analyses])
        for a in analyses:
            row = rows.get(a.inbound_id)
            if row is None:
                continue
            try:
                with session.begin_nested(), session.no_autoflush:
                    state = prefetch(session, ctx, [a], now)
                    outcome = apply(session, ctx, state, row, a, now)
                    _insert_created(session, state)
                    session.flush()
                    state.write(session)
                    _record_outcomes(session, [row])
            except Exception as exc:
                log.exception("writing inbound %s failed; quarantined", row.id)
                row.status, row.outcome, row.ticket = INBOUND_QUARANTINED, "quarantined", None
                row.error = f"{type(exc).__name__} while writing: {exc}"[:4000]
                row.processed_at = now
                _record_outcomes(session, [row])
                outcome = "quarantined"
            outcomes.append(outcome)
        crash_point("pipeline.before_commit")
    return outcomes


def process_once(factory: sessionmaker[Session], engine: Engine, ctx: Context, *,
                 now: Callable[[], datetime], limit: int | None = None, workers: int | None = None,
                 analyzer: Analyzer | None = None) -> ProcessReport:
    """Process every ``new`` inbound row (in batches); return the counts.

    While one batch is written, the next ``ANALYSIS_AHEAD`` are already being analysed by
    the worker pool, so the workers never wait for the writer. Pass an ``analyzer`` to
    reuse its pool across calls (it is then not closed here).
    """
    if analyzer is None:
        with Analyzer(ctx.config, workers=workers) as own:
            return process_once(factory, engine, ctx, now=now, limit=limit, analyzer=own)
    report = ProcessReport()
    batch = ctx.config.scheduler.process_batch
    ahead = ANALYSIS_AHEAD if analyzer.parallel else 1
    in_flight: deque[tuple[int, Pending]] = deque()
    reader = RawReader.for_engine(engine, cast(Table, InboundRaw.__table__))
    loaded, last_id = 0, 0
    while True:
        while len(in_flight) < ahead and (limit is None or loaded < limit):
            refs = _next_refs(factory, last_id, batch if limit is None else min(batch, limit - loaded))
            if not refs:
                break
            loaded, last_id = loaded + len(refs), refs[-1][0]
            in_flight.append((last_id, analyzer.submit_stored(reader, refs)))
        if not in_flight:
            break
        last, pending = in_flight.popleft()
        analyses = pending.result()
        try:
            outcomes = _write_fast(factory, engine, ctx, analyses, now())
        except Exception:
            log.warning("batch ending at inbound %s failed as a whole; replaying it row by row", last,
                        exc_info=True)
            outcomes = _write_safe(factory, engine, ctx, analyses, now())
        for outcome in outcomes:
            report.count(outcome)
    if report.processed:
        log.info("%s", report)
    return report


def retry_quarantined(factory: sessionmaker[Session], inbound_id: int) -> bool:
    """Put a quarantined message back in the queue; False if it is not quarantined."""
    with transaction(factory) as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.status != INBOUND_QUARANTINED:
            return False
        row.status, row.error, row.outcome = INBOUND_NEW, None, None
        return True
