"""Read-only views of the database for the CLI: the JSON contracts and the human tables.

The JSON shapes (ticket, outbox item, stats) are a contract outside scripts rely on: keys
are never removed or renamed.
"""

from __future__ import annotations

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
    OutboxItem,
    Ticket,
    TicketMessage,
)
from mailproc.vocabulary import InboundStatus, OutboxStatus


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
    }


def event_json(event: Event, tz: ZoneInfo) -> dict[str, Any]:
    return {"at": event.at.astimezone(tz).isoformat(), "actor": event.actor, "kind": event.kind,
            "detail": event.detail}


def outbox_json(item: OutboxItem, ticket_ref: str | None) -> dict[str, Any]:
    # "sending" is an internal lease state: outside, it is still queued.
    status = OutboxStatus.QUEUED if item.status == OutboxStatus.SENDING else item.status
    return {
        "id": item.id,
        "ticket_ref": ticket_ref,
        "kind": item.kind,
        "to": item.to_address,
        "subject": item.subject,
        "status": status,
        "attempts": item.attempts,
        "last_error": item.last_error,
    }


def message_counts(session: Session, ticket_ids: Sequence[int]) -> dict[int, int]:
    if not ticket_ids:
        return {}
    rows = session.execute(
        select(TicketMessage.ticket_id, func.count(TicketMessage.id))
        .where(TicketMessage.ticket_id.in_(ticket_ids)).group_by(TicketMessage.ticket_id)
    )
    return {tid: count for tid, count in rows}


def list_tickets(session: Session, *, status: str | None = None, limit: int = 100) -> list[tuple[Ticket, int]]:
    stmt = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Ticket.status == status)
    tickets = list(session.scalars(stmt))
    counts = message_counts(session, [t.id for t in tickets])
    return [(t, counts.get(t.id, 0)) for t in tickets]


def list_outbox(session: Session, *, status: str | None = None,
                limit: int = 100) -> list[tuple[OutboxItem, str | None]]:
    stmt = (select(OutboxItem, Ticket.ref).outerjoin(Ticket, Ticket.id == OutboxItem.ticket_id)
            .order_by(OutboxItem.id.desc()).limit(limit))
    if status == OutboxStatus.QUEUED:
        stmt = stmt.where(OutboxItem.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)))
    elif status:
        stmt = stmt.where(OutboxItem.status == status)
    return [(item, ref) for item, ref in session.execute(stmt)]


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
