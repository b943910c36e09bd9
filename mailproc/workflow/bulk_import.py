"""A bulk import (``mailproc tickets import``) written as tickets: complaints logged in the call
centre's own system become tickets as e-mailed ones do (assessed, routed, the receipt queued
to the customer's e-mail when the file gives one), in one transaction, all or nothing.

The file is read by :mod:`mailproc.workflow.importer` (pure); a file with any bad line imports
nothing. Rows whose ``external_id`` is already on a ticket are left alone, so importing the same
file again creates nothing. Differences from an e-mailed complaint, and why:

- the deadlines count from ``received_at`` (receipt at any contact point), not from the import;
- a complaint missing required identifiers waits in assessing without a request for them:
  there may be no customer e-mail, and the call centre has the customer on the phone (agents
  complete it with ``#set``);
- there is no inbound mail: the complaint's text is filed as an incoming message without one,
  and the ``imported`` event says which file and line it came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.analysis.extract.fields import Extracted
from mailproc.analysis.parsing import AttachmentInfo, ParsedMail
from mailproc.analysis.pool import local_date
from mailproc.core.context import Context
from mailproc.store.db import transaction
from mailproc.store.models import Ticket
from mailproc.vocabulary import NoticeKind
from mailproc.workflow.assess import assess
from mailproc.workflow.batch import BatchState, RecentNotices, insert_created, next_ref
from mailproc.workflow.importer import BadLine, ImportRow, read_import
from mailproc.workflow.steps import SYSTEM_ACTOR
from mailproc.workflow.tickets import apply_identifiers, queue_customer_notice, route_ticket

CHUNK = 500  # external ids looked up per query
SUBJECT = "Khiếu nại tiếp nhận qua {channel}"  # an imported complaint has no subject of its own


@dataclass(frozen=True)
class ImportReport:
    source: str
    imported: tuple[str, ...]  # the new tickets' refs (none on a dry run)
    would_import: int          # how many are new
    already: int               # lines whose external_id is on a ticket already
    errors: tuple[BadLine, ...]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors

    def __str__(self) -> str:
        if self.errors:
            return "\n".join([f"{self.source}: {len(self.errors)} bad line(s), nothing imported",
                              *(f"  {e}" for e in self.errors)])
        verb = "would import" if self.dry_run else "imported"
        return f"{verb} {self.would_import}, already there {self.already}"

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "dry_run": self.dry_run, "imported": self.would_import,
                "already": self.already, "refs": list(self.imported),
                "errors": [{"line": e.line, "column": e.column, "reason": e.reason} for e in self.errors]}


def import_tickets(factory: sessionmaker[Session], ctx: Context, data: bytes, *, source: str, now: datetime,
                   dry_run: bool = False) -> ImportReport:
    """Import the CSV file ``data`` (named ``source`` in the events): every new row a ticket,
    or nothing when any line is bad or on a dry run."""
    read = read_import(data, config=ctx.config.extract, tz=ctx.tz, now=now)
    if read.errors:
        return ImportReport(source, (), 0, 0, read.errors, dry_run)
    with transaction(factory) as session, session.no_autoflush:
        ids = [row.external_id for row in read.rows]
        known: set[str | None] = set()
        for i in range(0, len(ids), CHUNK):
            known.update(session.scalars(select(Ticket.external_id).where(Ticket.external_id.in_(ids[i:i + CHUNK]))))
        new = [row for row in read.rows if row.external_id not in known]
        if dry_run or not new:
            return ImportReport(source, (), len(new), len(read.rows) - len(new), (), dry_run)
        state = _state(session, ctx, new, now)
        tickets = [create_imported(session, ctx, state, row, source=source, now=now) for row in new]
        insert_created(session, state)
        session.flush()
        state.write(session)
    return ImportReport(source, tuple(t.ref for t in tickets), len(new), len(read.rows) - len(new), (), dry_run)


def _state(session: Session, ctx: Context, rows: list[ImportRow], now: datetime) -> BatchState:
    """What creating the tickets looks up, as a mail batch does: the recent automatic notices
    (the caps hold for imports too) and the cards' earlier complaints (the repeat rule)."""
    state = BatchState()
    recent = ctx.caches.setdefault("recent_notices", RecentNotices())
    recent.refresh(session, now)
    state.recent = recent
    cards = sorted({row.found.smartcard for row in rows if row.found.smartcard})
    days = max((r.repeat_card_days for r in ctx.config.routing.rules), default=0)
    for i in range(0, len(cards) if days else 0, CHUNK):
        for card, received in session.execute(select(Ticket.smartcard, Ticket.received_at).where(
                Ticket.smartcard.in_(cards[i:i + CHUNK]), Ticket.received_at >= now - timedelta(days=days + 1))):
            if card:
                state.card_history.setdefault(card, []).append(received)
    return state


def create_imported(session: Session, ctx: Context, state: BatchState, row: ImportRow, *, source: str,
                    now: datetime) -> Ticket:
    """One imported complaint as a ticket: assessed and routed as an e-mailed one (see
    :func:`mailproc.workflow.dispositions.new_complaint.create_ticket`), its receipt queued."""
    ticket = create_contact_ticket(
        session, ctx, state, found=row.found, text=row.text, received_at=row.received_at, channel=row.channel,
        subject=SUBJECT.format(channel=row.channel), external_id=row.external_id, now=now,
        event=("imported", {"source": source, "line": row.line, "external_id": row.external_id,
                            "channel": row.channel, "found": row.found.record()}))
    if ticket.missing:
        state.event(ticket, "notice_skipped", now, notice=NoticeKind.NEED_INFO,
                    reason="imported: the call centre completes the identifiers")
    elif not row.found.email:
        state.event(ticket, "notice_skipped", now, notice=NoticeKind.RECEIPT, reason="imported without an e-mail")
    else:
        mail = contact_mail(row.found.email, row.found.name, row.received_at, row.text)
        queue_customer_notice(ctx, state, ticket, mail, NoticeKind.RECEIPT, f"receipt:{ticket.ref}", now)
    return ticket


def create_contact_ticket(session: Session, ctx: Context, state: BatchState, *, found: Extracted, text: str,
                          received_at: datetime, channel: str, subject: str, event: tuple[str, dict[str, Any]],
                          now: datetime, external_id: str | None = None, actor: str = SYSTEM_ACTOR,
                          inbound_id: int | None = None, message_id: str | None = None,
                          files: Sequence[AttachmentInfo] = ()) -> Ticket:
    """A complaint received at another contact point (the call centre's file, an agent's
    ``#new``) as a ticket, as :func:`mailproc.workflow.dispositions.new_complaint.create_ticket`
    makes one of a mail: assessed from ``received_at``, routed when complete (its agents told),
    its text filed as the customer's message and ``event`` (kind, detail) recorded by ``actor``.
    The notices to the customer are the caller's: they differ by contact point."""
    cfg = ctx.config
    received_local = local_date(received_at, ctx.tz)
    verdict = assess(found, received_local, cfg=cfg.assess, cal_cfg=cfg.calendar, cal=ctx.calendar)
    ticket = Ticket(
        ref=next_ref(session, state, cfg.notices.ref_prefix, received_local.year), mailbox="",
        status=verdict.status, queue=verdict.queue, subject=subject[:255],
        customer_address=found.email or "", received_at=received_at, accept_due=verdict.accept_due,
        reply_due=verdict.reply_due, time_limit=verdict.time_limit, flags=list(verdict.flags),
        missing=list(verdict.missing), created_at=now, updated_at=now, channel=channel,
        external_id=external_id,
        # Every column with a default set here too: inserted by Core (see batch.insert_created).
        priority="normal", category="other", rules=[], reopened=0, identifier_provenance={},
        identifier_confidence={}, province=None, province_code=None, ward=None, ward_code=None,
    )
    apply_identifiers(ticket, found)
    state.created.append(ticket)
    state.by_ref[ticket.ref] = ticket
    state.messages.append((ticket, {
        "inbound_id": inbound_id, "outbox_id": None, "direction": "in", "message_id": message_id,
        "from_address": found.email or "", "subject": ticket.subject, "body_text": text, "quoted_text": "",
        "created_at": now}, [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                              "sha256": a.sha256, "data": a.data, "note": a.note} for a in files]))
    state.event(ticket, event[0], now, actor=actor, **event[1])
    state.event(ticket, "assessed", now, missing=list(verdict.missing), time_limit=verdict.time_limit,
                reason=verdict.time_limit_reason, flags=list(verdict.flags))
    if verdict.queue:
        route_ticket(session, ctx, state, ticket, text, now)
    if ticket.smartcard:
        state.card_history.setdefault(ticket.smartcard, []).append(ticket.received_at)
    return ticket


def contact_mail(email: str | None, name: str | None, received_at: datetime, text: str,
                 message_id: str | None = None) -> ParsedMail:
    """A complaint received elsewhere as the receipt's template reads a customer's mail (no
    headers; threaded under ``message_id`` when it was a mail; the excerpt is its text)."""
    return ParsedMail(message_id=message_id, in_reply_to=(), references=(), subject="", from_address=email,
                      from_name=name, to=(), date=received_at, content_type="text/plain", headers={},
                      text=text, new_text=text, quoted_text="", forwarded_text="")
