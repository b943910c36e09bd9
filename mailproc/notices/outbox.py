"""Queue outgoing notices in the outbox, inside the caller's transaction.

A notice is rendered when it is queued (subject, text, HTML) and its Message-ID is fixed
then; :func:`materialize` builds the MIME bytes once, at the first delivery attempt, and the
sender stores and reuses them on every retry. ``dedupe_key`` makes queuing idempotent: the
same notice for the same ticket is never queued twice. Automatic notices to one address are
capped per hour and per day (loop and flood protection).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jinja2 import Environment
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.config import Config
from mailproc.models import OUT_QUEUED, OutboxAttachment, OutboxItem, Ticket
from mailproc.notices.render import Rendered, build_message, new_message_id, parse_address, render, render_subject

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


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, date):
        return {"__date__": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot store {type(value).__name__} in a notice's context")


def _decode(obj: dict[str, Any]) -> Any:
    if "__datetime__" in obj:
        return datetime.fromisoformat(obj["__datetime__"])
    if "__date__" in obj:
        return date.fromisoformat(obj["__date__"])
    return obj


def dump_context(context: dict[str, Any]) -> str:
    return json.dumps(context, default=_encode, ensure_ascii=False)


def load_context(text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(text, object_hook=_decode)
    return loaded


def render_row(env: Environment, config: Config, notice: Notice, now: datetime) -> dict[str, Any]:
    """One notice as the column values of an outbox row (without ticket_id).

    The subject is rendered now (lists and the JSON contract show it); the bodies are rendered
    from the stored context at the first delivery attempt, with the MIME bytes (materialize).
    """
    parse_address(notice.to)  # refuse what could never be a header, before anything is stored
    message_id = new_message_id(notice.kind, notice.ref, config.notices.message_id_domain)
    return {
        "kind": notice.kind,
        "dedupe_key": notice.dedupe_key,
        "to_address": notice.to,
        "subject": render_subject(env, notice.kind, notice.context),
        "message_id": message_id.strip("<>"),
        "body_text": "",
        "body_html": "",
        "context": dump_context(notice.context),
        "in_reply_to": notice.in_reply_to,
        "references": " ".join(notice.references[-8:]),
        "status": OUT_QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def new_item(env: Environment, config: Config, notice: Notice, now: datetime,
             ticket: Ticket | None = None) -> OutboxItem:
    """Render one notice into an outbox row object (not yet added to a session)."""
    item = OutboxItem(**render_row(env, config, notice, now), attachments=[
        OutboxAttachment(filename=name, content_type=ctype, data=data) for name, ctype, data in notice.attachments])
    if ticket is not None:
        item.ticket = ticket
    else:
        item.ticket_id = notice.ticket_id
    return item


def enqueue(session: Session, env: Environment, config: Config, notice: Notice, now: datetime) -> OutboxItem | None:
    """Render and add one notice; None if an identical notice (same dedupe key) exists."""
    if already_queued(session, notice.dedupe_key):
        return None
    item = new_item(env, config, notice, now)
    session.add(item)
    return item


def materialize(item: OutboxItem, config: Config, env: Environment) -> bytes:
    """The MIME bytes of an outbox row (built with EmailMessage(policy=SMTP)); renders the
    bodies first if they were left for now."""
    if item.context is not None:
        rendered = render(env, item.kind, load_context(item.context))
        item.body_text, item.body_html, item.context = rendered.text, rendered.html, None
    msg = build_message(
        config, Rendered(item.subject, item.body_text, item.body_html), to=item.to_address,
        message_id=f"<{item.message_id}>", now=item.created_at,
        ref=item.ticket.ref if item.ticket is not None else None,
        in_reply_to=item.in_reply_to, references=tuple(item.references.split()),
        attachments=tuple((a.filename, a.content_type, a.data) for a in item.attachments),
    )
    return msg.as_bytes()
