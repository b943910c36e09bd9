"""Outbox rows for notices: what is stored when a notice is queued, and the bytes sent later.

:func:`render_row` fixes the Message-ID and the subject when the notice is queued and keeps
the template context; :func:`materialize` renders the bodies and builds the MIME bytes once,
at the first delivery attempt, and the sender reuses those bytes on every retry. The unique
``dedupe_key`` makes queuing idempotent. (The per-sender caps on automatic notices are applied
by the pipeline, which counts them per batch.)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.config import Config
from mailproc.notices.render import (
    Rendered,
    build_message,
    message_bytes,
    new_message_id,
    parse_address,
    render,
    render_subject,
)
from mailproc.store.models import OutboxItem
from mailproc.vocabulary import OutboxStatus

# Kinds sent automatically in answer to a customer's mail: these count against the caps.


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
    from_address: str | None = None  # another complaints mailbox's address (None: smtp.from_address)


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
        "from_address": notice.from_address,
        "subject": render_subject(env, notice.kind, notice.context),
        "message_id": message_id.strip("<>"),
        "body_text": "",
        "body_html": "",
        "context": dump_context(notice.context),
        "in_reply_to": notice.in_reply_to,
        "references": " ".join(notice.references[-8:]),
        "status": OutboxStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def materialize(item: OutboxItem, config: Config, env: Environment) -> bytes:
    """The MIME bytes of an outbox row (built with EmailMessage(policy=SMTP)); renders the
    bodies first if they were left for now."""
    if item.context is not None:
        rendered = render(env, item.kind, load_context(item.context))
        item.body_text, item.body_html, item.context = rendered.text, rendered.html, None
    msg = build_message(
        config, Rendered(item.subject, item.body_text, item.body_html), to=item.to_address,
        sender=config.sender_by_address(item.from_address),
        message_id=f"<{item.message_id}>", now=item.created_at,
        ref=item.ticket.ref if item.ticket is not None else None,
        in_reply_to=item.in_reply_to, references=tuple(item.references.split()),
        attachments=tuple((a.filename, a.content_type, a.data) for a in item.attachments),
    )
    return message_bytes(msg)


@dataclass(frozen=True)
class Requeued:
    ids: tuple[int, ...]            # queued again, attempts started over
    refused: tuple[tuple[int, str], ...] = ()  # (id, why) asked for by id but left alone


RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.IN_DOUBT)


def requeue(session: Session, *, now: datetime, ids: Sequence[int] = (), failed: bool = False,
            since: datetime | None = None) -> Requeued:
    """Queue notices again for the operator (``mailproc outbox retry``): the given ``ids`` when
    they failed or are in doubt (an in-doubt one is then sent without its copy being looked
    for: the operator's call), and with ``failed`` every failed notice (created at or after
    ``since``). Attempts start over; the Message-ID and bytes stay the same."""
    rows: dict[int, OutboxItem] = {}
    refused: list[tuple[int, str]] = []
    for row_id in ids:
        row = session.get(OutboxItem, row_id)
        if row is None:
            refused.append((row_id, "no such notice"))
        elif row.status not in RETRYABLE:
            refused.append((row_id, f"it is {row.status}, not failed or in doubt"))
        else:
            rows[row.id] = row
    if failed:
        stmt = select(OutboxItem).where(OutboxItem.status == OutboxStatus.FAILED)
        if since is not None:
            stmt = stmt.where(OutboxItem.created_at >= since)
        rows.update((row.id, row) for row in session.scalars(stmt))
    for row in rows.values():
        row.status, row.attempts, row.next_attempt_at, row.lease_until = OutboxStatus.QUEUED, 0, now, None
        row.last_error = f"queued again by the operator (was: {row.last_error or row.status})"[:2000]
    session.flush()
    return Requeued(ids=tuple(sorted(rows)), refused=tuple(refused))
