"""Queue outgoing notices in the outbox, inside the caller's transaction.

A notice is rendered once, with its Message-ID fixed, and stored as the exact bytes the
sender will hand to SMTP on every attempt. ``dedupe_key`` makes queuing idempotent: the same
notice for the same ticket is never queued twice. Automatic notices to one address are
capped per hour and per day (loop and flood protection).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jinja2 import Environment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.config import Config
from mailproc.models import OUT_QUEUED, OutboxItem
from mailproc.notices.render import build_message, new_message_id, render

# Kinds sent automatically in answer to a customer's mail: these count against the caps.
AUTOMATIC_KINDS = ("receipt", "need_info")


@dataclass(frozen=True)
class Notice:
    kind: str
    to: str
    dedupe_key: str
    context: dict[str, Any]
    ticket_id: int | None = None
    ref: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[tuple[str, str, bytes], ...] = ()


def over_rate_limit(session: Session, address: str, now: datetime, config: Config) -> str | None:
    """A reason string when ``address`` already got its share of automatic notices."""
    caps = (
        (timedelta(hours=1), config.notices.max_per_sender_per_hour, "hour"),
        (timedelta(days=1), config.notices.max_per_sender_per_day, "day"),
    )
    for window, cap, label in caps:
        count = session.scalar(
            select(func.count(OutboxItem.id)).where(
                OutboxItem.to_address == address,
                OutboxItem.kind.in_(AUTOMATIC_KINDS),
                OutboxItem.created_at > now - window,
            )
        ) or 0
        if count >= cap:
            return f"{count} automatic notices to this address in the last {label} (cap {cap})"
    return None


def already_queued(session: Session, dedupe_key: str) -> bool:
    return session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == dedupe_key)) is not None


def enqueue(session: Session, env: Environment, config: Config, notice: Notice, now: datetime) -> OutboxItem | None:
    """Render and add one notice; None if an identical notice (same dedupe key) exists."""
    if already_queued(session, notice.dedupe_key):
        return None
    rendered = render(env, notice.kind, notice.context)
    message_id = new_message_id(notice.kind, notice.ref, config.notices.message_id_domain)
    msg = build_message(
        config, rendered, to=notice.to, message_id=message_id, now=now, ref=notice.ref,
        in_reply_to=notice.in_reply_to, references=notice.references, attachments=notice.attachments,
    )
    item = OutboxItem(
        ticket_id=notice.ticket_id,
        kind=notice.kind,
        dedupe_key=notice.dedupe_key,
        to_address=notice.to,
        subject=rendered.subject,
        message_id=message_id.strip("<>"),
        raw=msg.as_bytes(),
        status=OUT_QUEUED,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(item)
    return item
