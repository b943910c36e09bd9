"""Read-only views of the database for the CLI: the JSON contracts and the human tables.

The JSON shapes (ticket, outbox item, stats) are a contract outside scripts rely on: keys
are never removed or renamed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.config import Config
from mailproc.store.models import (
    Event,
    InboundMessage,
    InboundRaw,
    OutboxItem,
    Ticket,
    TicketMessage,
)
from mailproc.vocabulary import InboundStatus, OutboxStatus

EMAIL_CHANNEL = "email"  # a ticket without a channel came by e-mail to the complaints mailbox


def ticket_json(ticket: Ticket, message_count: int, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "ref": ticket.ref,
        "status": ticket.status,
        "queue": ticket.queue,
        "name": ticket.name,
        "address": ticket.address,
        "phone": ticket.phone,
        "email": ticket.email,
        "smartcard": ticket.smartcard,
        "decoder": ticket.decoder,
        "category": ticket.category,
        "incident_date": ticket.incident_date.isoformat() if ticket.incident_date else None,
        "received_at": ticket.received_at.astimezone(tz).isoformat(),
        "accept_due": ticket.accept_due.isoformat(),
        "reply_due": ticket.reply_due.isoformat(),
        "flags": list(ticket.flags),
        "messages": message_count,
        "mailbox": ticket.mailbox or None,  # the complaints mailbox it came in on (None: [imap])
        # What the address names, in the 2025 units (pre-2025 ones mapped): None when not recognised.
        "province": ticket.province,
        "ward": ticket.ward,
        # Where it was received ("email", "hotline", "store", ...) and its id in the call
        # centre's system when it was imported (None otherwise).
        "channel": ticket.channel or EMAIL_CHANNEL,
        "external_id": ticket.external_id,
        # The customer's answer to the satisfaction survey: 1 (very dissatisfied) to 5, None
        # when not answered; their words as written.
        "satisfaction": ticket.satisfaction,
        "satisfaction_comment": ticket.satisfaction_comment,
    }


def event_json(event: Event, tz: ZoneInfo) -> dict[str, Any]:
    return {"at": event.at.astimezone(tz).isoformat(), "actor": event.actor, "kind": event.kind,
            "detail": event.detail}


BOUNCED = "bounced"  # shown, not stored: a sent notice whose bounce came back (bounced_at)
BODY_CHARS = 2000  # tickets show: a message's text is cut here (the JSON has it whole)


def outbox_status(item: OutboxItem) -> str:
    # "sending" is an internal lease state: outside, it is still queued.
    if item.status == OutboxStatus.SENDING:
        return OutboxStatus.QUEUED
    return BOUNCED if item.bounced_at is not None else item.status


def outbox_json(item: OutboxItem, ticket_ref: str | None) -> dict[str, Any]:
    status = outbox_status(item)
    return {
        "id": item.id,
        "ticket_ref": ticket_ref,
        "kind": item.kind,
        "to": item.to_address,
        "subject": item.subject,
        "status": status,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "bounced_at": item.bounced_at.isoformat() if item.bounced_at else None,
        "bounce_reason": item.bounce_reason,
    }


def message_json(message: TicketMessage, tz: ZoneInfo) -> dict[str, Any]:
    return {"direction": message.direction, "at": message.created_at.astimezone(tz).isoformat(),
            "from": message.from_address, "subject": message.subject, "text": message.body_text,
            "quoted_text": message.quoted_text}


def cut(text: str, limit: int = BODY_CHARS) -> str:
    """``text`` up to ``limit`` characters, with a visible marker when it was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [cut, {len(text) - limit} more characters]"


def message_counts(session: Session, ticket_ids: Sequence[int]) -> dict[int, int]:
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(TicketMessage.ticket_id, func.count(TicketMessage.id))
        .where(TicketMessage.ticket_id.in_(ticket_ids)).group_by(TicketMessage.ticket_id)
    )
    return {tid: count for tid, count in rows}


def _page(session: Session, stmt: Any, limit: int | None, offset: int) -> tuple[list[Any], int]:
    """One page of ``stmt`` and the number of all its rows (``limit`` None: every row)."""
    if (limit is not None and limit < 0) or offset < 0:
        raise ValueError("limit and offset must not be negative")  # PostgreSQL refuses LIMIT -1
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    return list(session.execute(stmt.limit(limit).offset(offset or None))), total


def list_tickets(session: Session, *, status: str | None = None, limit: int | None = 100,
                 offset: int = 0) -> tuple[list[tuple[Ticket, int]], int]:
    """A page of tickets, newest first, with their message counts; and how many match."""
    stmt = select(Ticket).order_by(Ticket.id.desc())
    if status:
        stmt = stmt.where(Ticket.status == status)
    rows, total = _page(session, stmt, limit, offset)
    tickets = [row[0] for row in rows]
    counts = message_counts(session, [t.id for t in tickets])
    return [(t, counts.get(t.id, 0)) for t in tickets], total


def list_outbox(session: Session, *, status: str | None = None, limit: int | None = 100,
                offset: int = 0) -> tuple[list[tuple[OutboxItem, str | None]], int]:
    """A page of outgoing e-mail, newest first, with its ticket's ref; and how many match."""
    stmt = (select(OutboxItem, Ticket.ref).outerjoin(Ticket, Ticket.id == OutboxItem.ticket_id)
            .order_by(OutboxItem.id.desc()))
    if status == OutboxStatus.QUEUED:
        stmt = stmt.where(OutboxItem.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)))
    elif status == BOUNCED:
        stmt = stmt.where(OutboxItem.bounced_at.is_not(None))
    elif status == OutboxStatus.SENT:
        stmt = stmt.where(OutboxItem.status == status, OutboxItem.bounced_at.is_(None))
    elif status:
        stmt = stmt.where(OutboxItem.status == status)
    rows, total = _page(session, stmt, limit, offset)
    return [(item, ref) for item, ref in rows], total


def list_quarantine(session: Session, *, limit: int | None = None,
                    offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Quarantined messages, oldest first: id, Message-ID, size, when fetched, the error, and
    the sender, subject and date read from the stored headers."""
    stmt = (select(InboundMessage.id, InboundMessage.message_id, InboundMessage.size, InboundMessage.fetched_at,
                   InboundMessage.error, func.substr(InboundRaw.raw, 1, HEADER_BYTES).label("head"))
            .outerjoin(InboundRaw, InboundRaw.id == InboundMessage.id)
            .where(InboundMessage.status == InboundStatus.QUARANTINED).order_by(InboundMessage.id))
    rows, total = _page(session, stmt, limit, offset)
    return [{"id": r.id, "message_id": r.message_id, "size": r.size, "fetched_at": r.fetched_at, "error": r.error,
             **headers_of(bytes(r.head or b""))} for r in rows], total


HEADER_BYTES = 64 * 1024  # headers are read from this much of the message at most
HEADER_CHARS = 300


def headers_of(raw: bytes) -> dict[str, str | None]:
    """From, Subject and Date of a stored message, decoded and cut, never raising: quarantined
    mail is the mail that broke something."""
    from email.header import decode_header, make_header
    from email.parser import BytesParser
    from email.policy import compat32

    try:
        msg = BytesParser(policy=compat32).parsebytes(raw[:HEADER_BYTES], headersonly=True)
    except Exception:
        return {"from": None, "subject": None, "date": None}

    raw_headers: dict[str, str] = {}
    for name, stored in msg.raw_items():  # as stored: 8-bit bytes are surrogate escapes
        raw_headers.setdefault(name.lower(), str(stored))

    def value(name: str) -> str | None:
        header = raw_headers.get(name.lower())
        if header is None:
            return None
        text = header[:HEADER_CHARS * 2]
        # Raw 8-bit bytes (UTF-8 headers, RFC 6532) arrive as surrogate escapes: decode them.
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        with contextlib.suppress(Exception):  # an undecodable encoded word: show it as it is
            text = str(make_header(decode_header(text)))
        return " ".join(text.split())[:HEADER_CHARS]

    return {"from": value("From"), "subject": value("Subject"), "date": value("Date")}


def stats(session: Session, config: Config | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The counts; with ``config`` and ``now`` also the times ``health`` judges by:
    ``last_poll_ok_at`` (the stalest mailbox's last good poll), ``last_send_ok_at`` and
    ``oldest_queued_age_s`` (the notice waiting longest; None when none waits)."""
    def count(stmt: Any) -> int:
        return int(session.scalar(stmt) or 0)

    by_status = select(OutboxItem.status, func.count(OutboxItem.id)).group_by(OutboxItem.status)
    outbox = dict(session.execute(by_status).all())
    data: dict[str, Any] = {
        "messages_stored": count(select(func.count(InboundMessage.id))),
        "tickets": count(select(func.count(Ticket.id))),
        "quarantined": count(select(func.count(InboundMessage.id))
                             .where(InboundMessage.status == InboundStatus.QUARANTINED)),
        "ignored": count(select(func.count(InboundMessage.id)).where(InboundMessage.status == InboundStatus.IGNORED)),
        "outbox_queued": sum(int(outbox.get(s, 0)) for s in (OutboxStatus.QUEUED, OutboxStatus.SENDING,
                                                              OutboxStatus.IN_DOUBT)),
        "outbox_sent": int(outbox.get(OutboxStatus.SENT, 0)),
        "outbox_failed": int(outbox.get(OutboxStatus.FAILED, 0)),
    }
    if config is None or now is None:
        return data
    from mailproc.ops.health import Facts, mailbox_facts, outbox_facts

    facts = Facts(now=now, mailboxes=mailbox_facts(session, config), **outbox_facts(session, now), queued=0,
                  failed_24h=0, quarantined=0, quarantined_24h=0, breached=0)
    tz = ZoneInfo(config.calendar.timezone)
    data["last_poll_ok_at"] = facts.last_poll_ok_at.astimezone(tz).isoformat() if facts.last_poll_ok_at else None
    data["last_send_ok_at"] = facts.last_send_ok_at.astimezone(tz).isoformat() if facts.last_send_ok_at else None
    data["oldest_queued_age_s"] = facts.oldest_queued_age_s
    return data


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_width: int = 48) -> str:
    """A plain aligned text table."""
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = " ".join(text.split())
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)
