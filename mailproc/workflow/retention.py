"""Retention (``[retention]``): the raw mail and attachments of tickets closed long ago are purged.

A ticket done (answered, rejected or closed) more than ``retention.raw_days`` days ago loses the
stored bytes of its mails (``inbound_raw``), its attachments' data, and the raw bytes and
attachments of the notices sent about it; the ticket, its messages' texts, its events and its
counts stay. Each purged ticket gets a ``raw_purged`` event, which is also how a ticket is
known to be done: the query skips those, so running it again costs one indexed query.

The deadline sweep runs :func:`purge_daily`, which runs :func:`purge_once` at most once a day
(its marker is the ``alerts`` row ``retention_purge``, never active, whose ``since`` is the last
run); ``mailproc retention purge [--dry-run] [--now ISO]`` runs it by hand.

The IMAP part (``processed_folder_days``: old mail deleted from the processed folder with
UID STORE \\Deleted + UID EXPUNGE of exactly those UIDs, UIDPLUS only) is not implemented yet:
the option is read and reported, nothing is deleted on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.core.context import Context
from mailproc.core.report import StageReport
from mailproc.store.db import transaction
from mailproc.store.models import (
    Alert,
    Attachment,
    Event,
    InboundMessage,
    InboundRaw,
    OutboxAttachment,
    OutboxItem,
    Ticket,
    TicketMessage,
)
from mailproc.vocabulary import DONE_STATUSES, Actor

log = logging.getLogger(__name__)
PURGED = "raw_purged"
MARKER = "retention_purge"
PURGED_NOTE = "purged (retention)"


@dataclass
class RetentionReport(StageReport):
    stage = "retention"
    dry_run: bool = False
    tickets: list[str] = field(default_factory=list)
    raw_mails: int = 0
    attachments: int = 0
    notices: int = 0
    skipped: list[str] = field(default_factory=list)  # what was not done, and why

    def __str__(self) -> str:
        return (f"retention{' (dry run)' if self.dry_run else ''}: tickets={len(self.tickets)} "
                f"raw_mails={self.raw_mails} attachments={self.attachments} notices={self.notices}"
                + "".join(f"; {s}" for s in self.skipped))


def _purge_ticket(session: Session, ticket: Ticket, report: RetentionReport, now: datetime, dry_run: bool) -> None:
    inbound_ids = {i for i in session.scalars(select(InboundMessage.id).where(InboundMessage.ticket_id == ticket.id))}
    inbound_ids.update(i for i in session.scalars(select(TicketMessage.inbound_id).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.inbound_id.is_not(None))) if i is not None)
    raws = list(session.scalars(select(InboundRaw).where(InboundRaw.id.in_(inbound_ids))))
    attachments = list(session.scalars(select(Attachment).join(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id, Attachment.data.is_not(None))))
    notices = list(session.scalars(select(OutboxItem).where(OutboxItem.ticket_id == ticket.id,
                                                            OutboxItem.raw.is_not(None))))
    notice_files = list(session.scalars(select(OutboxAttachment).join(OutboxItem).where(
        OutboxItem.ticket_id == ticket.id)))
    report.tickets.append(ticket.ref)
    report.raw_mails += len(raws)
    report.attachments += len(attachments) + len(notice_files)
    report.notices += len(notices)
    if dry_run:
        return
    for row in (*raws, *notice_files):
        session.delete(row)
    for attachment in attachments:
        attachment.data, attachment.note = None, PURGED_NOTE
    for notice in notices:
        notice.raw = None
    session.add(Event(ticket_id=ticket.id, at=now, actor=Actor.SCHEDULER, kind=PURGED,
                      detail={"raw_mails": len(raws), "attachments": len(attachments) + len(notice_files)}))


def purge_once(sessions: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime],
               dry_run: bool = False) -> RetentionReport:
    """Purge what ``[retention]`` says is kept too long, as of ``now()``."""
    when = now()
    report = RetentionReport(dry_run=dry_run)
    days = ctx.config.retention.raw_days
    if ctx.config.retention.processed_folder_days:
        report.skipped.append("processed_folder_days: deleting old mail from the IMAP processed folder "
                              "is not implemented yet; nothing deleted on the server")
    if days <= 0:
        report.skipped.append("raw_days = 0: raw mail is kept")
        return report
    cutoff = when - timedelta(days=days)
    with transaction(sessions) as session:
        purged = exists().where(Event.ticket_id == Ticket.id, Event.kind == PURGED)
        tickets = list(session.scalars(
            select(Ticket).where(Ticket.status.in_(sorted(DONE_STATUSES)),
                                 Ticket.closed_at < cutoff,  # set when a ticket is answered, rejected or closed
                                 ~purged).order_by(Ticket.id)))
        for ticket in tickets:
            _purge_ticket(session, ticket, report, when, dry_run)
    log.info("%s", report)
    return report


def purge_daily(sessions: sessionmaker[Session], ctx: Context, when: datetime) -> RetentionReport | None:
    """:func:`purge_once` unless it already ran today (local date); the deadline sweep calls this."""
    if ctx.config.retention.raw_days <= 0:
        return None
    today = when.astimezone(ctx.tz).date()
    with transaction(sessions) as session:
        marker = session.get(Alert, MARKER)
        if marker is not None and marker.since is not None and marker.since.astimezone(ctx.tz).date() >= today:
            return None
        if marker is None:
            marker = Alert(key=MARKER, active=False)
            session.add(marker)
        marker.since = when
    report = purge_once(sessions, ctx, now=lambda: when)
    with transaction(sessions) as session:
        marker = session.get(Alert, MARKER)
        if marker is not None:
            marker.detail = str(report)[:500]
    return report
