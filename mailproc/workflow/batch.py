"""One processing batch: the claimed inbound rows and the lookups their handling needs.

Lookups (tickets by tag and by Message-ID, recent automatic notices per sender, smart-card
history, ref counters) are fetched once per batch and kept current as the batch adds tickets
and notices; the rows hanging off tickets are collected (:class:`~mailproc.workflow.steps.Sink`)
and inserted in bulk after the flush.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from mailproc.analysis.parsing import ParsedMail
from mailproc.analysis.pool import Analysis
from mailproc.analysis.threads import format_ref
from mailproc.core.context import Context
from mailproc.core.people import domain_of, person
from mailproc.core.roster import AuthResult
from mailproc.store.db import insert_ignoring_conflicts
from mailproc.store.models import Counter, OutboxItem, Ticket, TicketMessage
from mailproc.vocabulary import CUSTOMER_KINDS, InboundStatus
from mailproc.workflow.steps import Sink, insert_rows


@dataclass
class BatchState(Sink):
    """Lookups fetched once per batch, kept current as the batch adds tickets and notices;
    the rows hanging off tickets are collected (Sink) and inserted in bulk after the flush."""

    by_ref: dict[str, Ticket] = field(default_factory=dict)
    by_message_id: dict[str, Ticket] = field(default_factory=dict)
    recent: RecentNotices | None = None  # committed automatic notices (this process's tally)
    # ... and the ones this batch queued, by person and by domain, and how many in all
    recent_auto: dict[str, list[datetime]] = field(default_factory=dict)
    recent_domain: dict[str, list[datetime]] = field(default_factory=dict)
    automatic_last_hour: int = 0
    counters: dict[str, Counter] = field(default_factory=dict)
    card_history: dict[str, list[datetime]] = field(default_factory=dict)
    created: list[Ticket] = field(default_factory=list)
    dkim: dict[int, AuthResult] = field(default_factory=dict)  # mailproc's own DKIM check, by inbound id
    # Message-IDs of our own outgoing mail (unguessable) and of the customer's own earlier
    # mail, with their ticket: a reply that quotes one of them really continues the conversation.
    conversation: dict[str, Ticket] = field(default_factory=dict)


@dataclass
class Claimed:
    """A claimed ``new`` inbound row: what processing reads of it, and the outcome it is
    given. The outcomes of a batch are written in one UPDATE, after its tickets are flushed
    (the rows are not loaded as ORM objects: nothing else of them is read or changed)."""

    id: int
    folder: str
    message_id: str | None
    attempts: int
    mailbox: str = ""  # the complaints mailbox it came in on ("" = [imap])
    status: InboundStatus = InboundStatus.NEW
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
        theirs = list(session.execute(select(TicketMessage.message_id, TicketMessage.ticket_id,
                                             TicketMessage.from_address, TicketMessage.direction)
                                      .where(TicketMessage.message_id.in_(ids))))
        pairs: list[tuple[str | None, int | None]] = [(mid, tid) for mid, tid, _, _ in theirs]
        ours = [(mid, tid) for mid, tid in session.execute(
            select(OutboxItem.message_id, OutboxItem.ticket_id)
            .where(OutboxItem.message_id.in_(ids), OutboxItem.ticket_id.is_not(None))) if mid and tid is not None]
        pairs += ours
        wanted = {tid for _, tid in pairs if tid not in tickets}
        if wanted:
            for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(wanted))):
                tickets[ticket.id] = ticket
        for message_id, ticket_id in pairs:
            if message_id and ticket_id in tickets:
                state.by_message_id.setdefault(message_id, tickets[ticket_id])
        for message_id, ticket_id in ours:
            if ticket_id in tickets:
                state.conversation[message_id] = tickets[ticket_id]
        for message_id, ticket_id, sender, direction in theirs:  # the customer's own earlier mail
            owner = tickets.get(ticket_id)
            if message_id and owner is not None and direction == "in" and is_customer(owner, sender):
                state.conversation[message_id] = owner
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
        # Every automatic notice to a customer counts (receipts, requests, acceptances, ...),
        # by person and by domain, and all of them together in the last hour: from this
        # process's running tally of the outbox (read incrementally, not again per batch).
        recent = ctx.caches.setdefault("recent_notices", RecentNotices())
        recent.refresh(session, now)
        state.recent = recent
        state.dedupe_keys.update(session.scalars(select(OutboxItem.dedupe_key).where(
            OutboxItem.dedupe_key.like("agent_notice:flood:%"), OutboxItem.created_at > now - timedelta(hours=2))))
    return state


class RecentNotices:
    """The automatic notices to customers of the last day, by person, by domain and in all:
    read from the outbox once, then only what was added since (by id)."""

    def __init__(self) -> None:
        self.last_id = 0
        self.by_person: dict[str, list[datetime]] = {}
        self.by_domain: dict[str, list[datetime]] = {}
        self.all: list[datetime] = []
        self.pruned_at: datetime | None = None

    def refresh(self, session: Session, now: datetime) -> None:
        rows = session.execute(select(OutboxItem.id, OutboxItem.to_address, OutboxItem.created_at).where(
            OutboxItem.id > self.last_id, OutboxItem.kind.in_(CUSTOMER_KINDS),
            OutboxItem.created_at > now - timedelta(days=1)).order_by(OutboxItem.id))
        for row_id, address, created in rows:
            self.last_id = max(self.last_id, row_id)
            self.by_person.setdefault(person(address), []).append(created)
            self.by_domain.setdefault(domain_of(address), []).append(created)
            self.all.append(created)
        if self.pruned_at is None or now - self.pruned_at > timedelta(minutes=10):
            self._prune(now)

    @staticmethod
    def since(times: list[datetime], moment: datetime) -> int:
        """How many of ``times`` (in the outbox's order, so ascending) are after ``moment``."""
        return len(times) - bisect.bisect_right(times, moment)

    def _prune(self, now: datetime) -> None:
        day, hour = now - timedelta(days=1), now - timedelta(hours=1)
        self.by_person = {k: kept for k, v in self.by_person.items() if (kept := [t for t in v if t > day])}
        self.by_domain = {k: kept for k, v in self.by_domain.items() if (kept := [t for t in v if t > hour])}
        self.all = [t for t in self.all if t > hour]
        self.pruned_at = now


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
    return format_ref(prefix, year, counter.value)


def is_customer(ticket: Ticket, sender: str | None) -> bool:
    return bool(sender) and (sender or "").lower() in {ticket.customer_address.lower(), (ticket.email or "").lower()}


def answers_us(state: BatchState, parsed: ParsedMail, ticket: Ticket) -> bool:
    """Whether the message refers (In-Reply-To or References) to one of our own e-mails about
    ``ticket``, or to the customer's own earlier mail on it: a tag in the subject can be typed
    by anyone, our Message-IDs (128 random bits) cannot."""
    return any(state.conversation.get(message_id) is ticket for message_id in (*parsed.in_reply_to, *parsed.references))


def find_ticket(state: BatchState, a: Analysis) -> Ticket | None:
    """The ticket a message belongs to: by the tag in its subject, then by In-Reply-To and
    References, then by a tag in its text (a forward that lost its headers)."""
    assert a.parsed is not None
    if a.subject_ref and a.subject_ref in state.by_ref:
        return state.by_ref[a.subject_ref]
    for message_id in (*a.parsed.in_reply_to, *reversed(a.parsed.references)):
        if message_id in state.by_message_id:
            return state.by_message_id[message_id]
    return state.by_ref.get(a.body_ref) if a.body_ref else None


_TICKET_ATTRIBUTES = tuple((prop.key, prop.columns[0].key) for prop in inspect(Ticket).column_attrs)


def insert_created(session: Session, state: BatchState) -> None:
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
