"""Retention (``[retention]``): the raw mail and attachments of tickets closed long ago are purged.

A ticket done (answered, rejected or closed) more than ``retention.raw_days`` days ago loses the
stored bytes of its mails (``inbound_raw``), its attachments' data, and the raw bytes and
attachments of the notices sent about it; the ticket, its messages' texts, its events and its
counts stay. Each purged ticket gets a ``raw_purged`` event, which is also how a ticket is
known to be done: the query skips those, so running it again costs one indexed query.

The deadline sweep runs :func:`purge_daily`, which runs :func:`purge_once` at most once a day
(its marker is the ``alerts`` row ``retention_purge``, never active, whose ``since`` is the last
run); ``mailproc retention purge [--dry-run] [--now ISO]`` runs it by hand.

With ``processed_folder_days``, mail that arrived (IMAP INTERNALDATE) more than that many days
ago is deleted from each complaints mailbox's processed folder: ``UID SEARCH BEFORE``, then
``UID STORE +FLAGS.SILENT (\\Deleted)`` and ``UID EXPUNGE`` of exactly those UIDs, which needs
UIDPLUS. Never a plain ``EXPUNGE``: it would also remove whatever a colleague has marked
``\\Deleted`` in the shared mailbox. A server without UIDPLUS is skipped, and the report says so.
The stored copy in the database is not touched by this (``raw_days`` decides that).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from imap_tools import BaseMailBox
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.config import MailboxConfig
from mailproc.core.context import Context
from mailproc.core.report import StageReport
from mailproc.errors import ImapError
from mailproc.intake.imap import TRANSIENT_ERRORS, chunks, open_mailbox
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
    imap_deleted: int = 0  # mails deleted (with --dry-run: to delete) from the processed folders
    skipped: list[str] = field(default_factory=list)  # what was not done, and why

    def __str__(self) -> str:
        return (f"retention{' (dry run)' if self.dry_run else ''}: tickets={len(self.tickets)} "
                f"raw_mails={self.raw_mails} attachments={self.attachments} notices={self.notices} "
                f"imap_deleted={self.imap_deleted}"
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
    if ctx.config.retention.processed_folder_days > 0:
        purge_processed_folders(ctx, when, report, dry_run=dry_run)
    if days <= 0:
        report.skipped.append("raw_days = 0: raw mail is kept")
        log.info("%s", report)
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


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def imap_date(day: date) -> str:
    """An IMAP date (RFC 3501 ``date``), whatever the locale: 05-Jan-2026."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year}"


def _uid(box: BaseMailBox, command: str, *args: str) -> list[object]:
    typ, data = box.client.uid(command, *args)
    if typ != "OK":
        raise ImapError(f"UID {command}", f"{typ} {data!r}"[:300])
    return list(data)


def delete_old_mail(box: BaseMailBox, folder: str, before: date, *, chunk: int, dry_run: bool) -> int:
    """Delete the mail of ``folder`` that arrived before ``before``: exactly those UIDs
    (\\Deleted, then UID EXPUNGE of them); returns how many. The caller checked UIDPLUS."""
    if not box.folder.exists(folder):
        return 0
    box.folder.set(folder)
    found = _uid(box, "SEARCH", "BEFORE", imap_date(before))
    uids: Sequence[str] = [u for part in found if isinstance(part, bytes) for u in part.decode().split()]
    if dry_run:
        return len(uids)
    for part in chunks(uids, chunk):
        uid_set = ",".join(part)
        _uid(box, "STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)")
        _uid(box, "EXPUNGE", uid_set)
    return len(uids)


def purge_processed_folders(ctx: Context, when: datetime, report: RetentionReport, *, dry_run: bool) -> None:
    """:func:`delete_old_mail` in every complaints mailbox's processed folder; one mailbox's
    trouble is reported and the others go on."""
    before = (when.astimezone(ctx.tz) - timedelta(days=ctx.config.retention.processed_folder_days)).date()
    for cfg in ctx.config.all_mailboxes():
        if not cfg.processed_folder:
            continue
        where = f"{cfg.name or 'imap'}/{cfg.processed_folder}"
        try:
            with _open(ctx, cfg) as box:
                if "UIDPLUS" not in box.client.capabilities:
                    report.skipped.append(f"{where}: the server lacks UIDPLUS, so old mail is not deleted "
                                          "(a plain EXPUNGE would also remove colleagues' deleted mail)")
                    continue
                deleted = delete_old_mail(box, cfg.processed_folder, before, chunk=cfg.batch_size, dry_run=dry_run)
                report.imap_deleted += deleted
                if deleted:
                    log.info("retention: %s %d mail(s) from %s received before %s",
                             "would delete" if dry_run else "deleted", deleted, where, before.isoformat())
        except TRANSIENT_ERRORS as exc:
            report.skipped.append(f"{where}: {type(exc).__name__}: {exc}"[:300])
            log.warning("retention: %s not cleaned up: %s", where, exc)


def _open(ctx: Context, cfg: MailboxConfig) -> AbstractContextManager[BaseMailBox]:
    if not cfg.name and ctx.mailbox is not None:
        return ctx.mailbox()
    return open_mailbox(cfg, ctx.tokens)


def purge_daily(sessions: sessionmaker[Session], ctx: Context, when: datetime) -> RetentionReport | None:
    """:func:`purge_once` unless it already ran today (local date); the deadline sweep calls this."""
    if ctx.config.retention.raw_days <= 0 and ctx.config.retention.processed_folder_days <= 0:
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
