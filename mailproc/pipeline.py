"""Turn stored inbound rows into tickets, ticket messages, events and outbox rows.

``process_once`` claims a batch of ``new`` inbound rows and gives each exactly one outcome,
each in its own savepoint of the batch transaction: ``processed`` (a new ticket or a reply
joined to one), ``ignored`` (auto-reply, list mail, bounce — with the rule that matched), or
``quarantined`` (with the error; the raw bytes stay). One bad message never stops the rest.
Decisions are made by the pure modules (parsing, filters, extract, assess, threads); this
module only reads and writes rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from mailproc.assess import FIELD_LABELS_VI, FLAG_MISSING, STATUS_ASSESSING, STATUS_L1, assess, missing_fields
from mailproc.config import Config
from mailproc.crashpoints import crash_point
from mailproc.db import claim_query, transaction
from mailproc.errors import MessageRejected
from mailproc.extract import Extracted, extract
from mailproc.filters import BOUNCE, FilterContext, first_match
from mailproc.models import (
    INBOUND_DONE,
    INBOUND_IGNORED,
    INBOUND_NEW,
    INBOUND_QUARANTINED,
    Attachment,
    Counter,
    Event,
    InboundMessage,
    OutboxItem,
    Ticket,
    TicketMessage,
)
from mailproc.notices.outbox import Notice, enqueue, over_rate_limit
from mailproc.notices.render import InvalidAddress, mask, parse_address
from mailproc.parsing import ParsedMail, parse_message
from mailproc.threads import clean_subject, find_ref
from mailproc.workdays import WorkCalendar

log = logging.getLogger(__name__)
SYSTEM = "mailproc"
IDENTIFIER_FIELDS = ("name", "address", "phone", "email", "smartcard", "decoder")


@dataclass
class ProcessReport:
    processed: int = 0
    created: int = 0
    replies: int = 0
    ignored: int = 0
    bounces: int = 0
    quarantined: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def __str__(self) -> str:
        return (f"process: handled={self.processed} new_tickets={self.created} replies={self.replies} "
                f"ignored={self.ignored} bounces={self.bounces} quarantined={self.quarantined}")


@dataclass(frozen=True)
class Context:
    """What every message's processing needs, built once per run."""

    config: Config
    env: Environment
    calendar: WorkCalendar
    filters: FilterContext
    tz: ZoneInfo

    @classmethod
    def build(cls, config: Config, env: Environment, calendar: WorkCalendar) -> Context:
        own = {config.smtp.from_address.lower()}
        if config.imap.username and "@" in config.imap.username:
            own.add(config.imap.username.lower())
        return cls(
            config=config, env=env, calendar=calendar,
            filters=FilterContext(
                own_addresses=frozenset(own),
                own_message_id_domain=config.notices.message_id_domain,
                robot_localparts=frozenset(config.filters.robot_localparts),
            ),
            tz=ZoneInfo(config.calendar.timezone),
        )


def arrival_time(parsed: ParsedMail, fetched_at: datetime) -> datetime:
    """When the mail reached our server: the newest Received stamp, else when we fetched it."""
    received = parsed.headers.get("received", ())
    if received:
        stamp = received[0].rpartition(";")[2].strip()
        try:
            when = parsedate_to_datetime(stamp)
        except (TypeError, ValueError, IndexError):
            when = None
        if when and when.tzinfo and fetched_at - timedelta(days=30) <= when <= fetched_at + timedelta(minutes=5):
            return when
    return fetched_at


def next_ref(session: Session, prefix: str, year: int) -> str:
    """Allocate the next ``PREFIX-YYYY-NNNNNN`` (row-locked counter, gap-free per year)."""
    name = f"ref:{prefix}:{year}"
    dialect = session.get_bind().dialect.name
    insert: Any = sqlite.insert(Counter) if dialect == "sqlite" else postgresql.insert(Counter)
    session.execute(insert.values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"]))
    counter = session.get(Counter, name, with_for_update=True, populate_existing=True)
    assert counter is not None
    counter.value += 1
    session.flush()
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


def _event(session: Session, ticket: Ticket, kind: str, now: datetime, actor: str = SYSTEM, **detail: Any) -> None:
    session.add(Event(ticket=ticket, at=now, actor=actor, kind=kind, detail=detail))


def _add_message(session: Session, ticket: Ticket, row: InboundMessage, parsed: ParsedMail, now: datetime) -> None:
    msg = TicketMessage(
        ticket=ticket, inbound_id=row.id, direction="in", message_id=parsed.message_id,
        from_address=parsed.from_address or "", subject=parsed.subject,
        body_text=parsed.customer_text, quoted_text=parsed.quoted_text, created_at=now,
    )
    for att in parsed.attachments:
        msg.attachments.append(Attachment(
            filename=att.filename, content_type=att.content_type, size=att.size, sha256=att.sha256,
            data=att.data, note=att.note,
        ))
    session.add(msg)


def notice_context(ctx: Context, ticket: Ticket, parsed: ParsedMail | None = None) -> dict[str, Any]:
    """What the customer-facing templates may show (card and phone masked)."""
    received_local = ticket.received_at.astimezone(ctx.tz)
    return {
        "ref": ticket.ref,
        "name": ticket.name,
        "subject": ticket.subject,
        "received_at": received_local,
        "received_date": received_local.date(),
        "accept_due": ticket.accept_due,
        "reply_due": ticket.reply_due,
        "accept_days": ctx.config.calendar.accept_days,
        "reply_days": ctx.config.calendar.reply_days,
        "missing": [FIELD_LABELS_VI[m] for m in ticket.missing],
        "identifiers": [
            (FIELD_LABELS_VI[f], mask(getattr(ticket, f)) if f in ("phone", "smartcard") else getattr(ticket, f))
            for f in IDENTIFIER_FIELDS if getattr(ticket, f)
        ],
        "excerpt": (parsed.new_text if parsed else "")[:600],
        "late": "late" in ticket.flags,
        "company": ctx.config.notices.company_name,
        "department": ctx.config.notices.department,
        "hotline": ctx.config.notices.hotline,
    }


def _queue_customer_notice(session: Session, ctx: Context, ticket: Ticket, parsed: ParsedMail, kind: str,
                           dedupe_key: str, now: datetime) -> str:
    """Queue a receipt or request for information to the customer; return what happened."""
    to = parsed.from_address
    try:
        parse_address(to or "")
    except InvalidAddress as exc:
        _event(session, ticket, "notice_skipped", now, notice=kind, reason=f"no usable reply address: {exc}")
        return "no_address"
    assert to is not None
    limited = over_rate_limit(session, to, now, ctx.config)
    if limited:
        _event(session, ticket, "notice_suppressed", now, notice=kind, reason=limited)
        if "rate_limited" not in ticket.flags:
            ticket.flags = [*ticket.flags, "rate_limited"]
        return "rate_limited"
    item = enqueue(session, ctx.env, ctx.config, Notice(
        kind=kind, to=to, dedupe_key=dedupe_key, context=notice_context(ctx, ticket, parsed),
        ticket_id=ticket.id, ref=ticket.ref, in_reply_to=parsed.message_id, references=parsed.references,
    ), now)
    if item is not None:
        session.flush()
        _event(session, ticket, "notice_queued", now, notice=kind, outbox_id=item.id)
        return "queued"
    return "duplicate"


def _create_ticket(session: Session, ctx: Context, row: InboundMessage, parsed: ParsedMail, now: datetime) -> Ticket:
    cfg = ctx.config
    received_at = arrival_time(parsed, row.fetched_at)
    received_local = received_at.astimezone(ctx.tz).date()
    found = extract(parsed.customer_text, subject=parsed.subject, sender_address=parsed.from_address,
                    sender_name=parsed.from_name, mail_date=received_local, config=cfg.extract)
    verdict = assess(found, received_local, cfg=cfg.assess, cal_cfg=cfg.calendar, cal=ctx.calendar)
    ticket = Ticket(
        ref=next_ref(session, cfg.notices.ref_prefix, received_local.year),
        status=verdict.status, queue=verdict.queue,
        subject=clean_subject(cfg.notices.ref_prefix, parsed.subject)[:255] or "(không có tiêu đề)",
        customer_address=parsed.from_address or "",
        received_at=received_at, accept_due=verdict.accept_due, reply_due=verdict.reply_due,
        time_limit=verdict.time_limit, flags=list(verdict.flags), missing=list(verdict.missing),
        created_at=now, updated_at=now,
    )
    _apply_identifiers(ticket, found)
    session.add(ticket)
    session.flush()
    _add_message(session, ticket, row, parsed, now)
    _event(session, ticket, "received", now, inbound_id=row.id, message_id=parsed.message_id,
           found={k: v for k, v in found.confidence.items()})
    _event(session, ticket, "assessed", now, missing=list(verdict.missing), time_limit=verdict.time_limit,
           reason=verdict.time_limit_reason, flags=list(verdict.flags))
    if verdict.queue:
        _event(session, ticket, "routed", now, queue=verdict.queue, rules=["default_l1"])
    kind = "need_info" if verdict.missing else "receipt"
    key = f"need_info:{ticket.ref}:{row.id}" if verdict.missing else f"receipt:{ticket.ref}"
    _queue_customer_notice(session, ctx, ticket, parsed, kind, key, now)
    log.info("ticket %s created from <%s>: status=%s missing=%s", ticket.ref, parsed.message_id,
             ticket.status, ",".join(verdict.missing) or "-")
    return ticket


def _find_ticket(session: Session, ctx: Context, parsed: ParsedMail) -> Ticket | None:
    prefix = ctx.config.notices.ref_prefix
    ref = find_ref(prefix, parsed.subject)
    if ref:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == ref))
        if ticket:
            return ticket
    ids = [*parsed.in_reply_to, *parsed.references]
    if ids:
        ticket_id = session.scalar(
            select(TicketMessage.ticket_id).where(TicketMessage.message_id.in_(ids)).limit(1)
        ) or session.scalar(select(OutboxItem.ticket_id).where(OutboxItem.message_id.in_(ids)).limit(1))
        if ticket_id:
            return session.get(Ticket, ticket_id)
    ref = find_ref(prefix, parsed.new_text, parsed.forwarded_text)
    if ref:
        return session.scalar(select(Ticket).where(Ticket.ref == ref))
    return None


def _is_customer(ticket: Ticket, sender: str | None) -> bool:
    return bool(sender) and sender in {ticket.customer_address.lower(), (ticket.email or "").lower()}


def _join_reply(session: Session, ctx: Context, ticket: Ticket, row: InboundMessage, parsed: ParsedMail,
                now: datetime) -> None:
    _add_message(session, ticket, row, parsed, now)
    ticket.updated_at = now
    if not _is_customer(ticket, parsed.from_address):
        _event(session, ticket, "message_from_other_sender", now, inbound_id=row.id,
               sender=parsed.from_address, message_id=parsed.message_id)
        return
    _event(session, ticket, "customer_reply", now, inbound_id=row.id, message_id=parsed.message_id)
    received_local = ticket.received_at.astimezone(ctx.tz).date()
    found = extract(parsed.customer_text, subject=parsed.subject, sender_address=parsed.from_address,
                    sender_name=parsed.from_name, mail_date=received_local, config=ctx.config.extract)
    merged = ticket_identifiers(ticket).merged_with(found)
    changed = _apply_identifiers(ticket, merged)
    if changed:
        _event(session, ticket, "identifiers_added", now, fields=changed)
    if ticket.status != STATUS_ASSESSING:
        return
    missing = missing_fields(merged, ctx.config.assess.required)
    ticket.missing = list(missing)
    if missing:
        _queue_customer_notice(session, ctx, ticket, parsed, "need_info", f"need_info:{ticket.ref}:{row.id}", now)
        return
    ticket.status, ticket.queue = STATUS_L1, "L1"
    ticket.flags = [f for f in ticket.flags if f != FLAG_MISSING]
    _event(session, ticket, "info_complete", now, fields=changed)
    _event(session, ticket, "routed", now, queue="L1", rules=["default_l1"])
    _queue_customer_notice(session, ctx, ticket, parsed, "receipt", f"receipt:{ticket.ref}", now)


def _record_bounce(session: Session, parsed: ParsedMail, now: datetime) -> str:
    report = parsed.report
    original = report.original_message_id if report else None
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == original)) if original else None
    if item is None:
        return "bounce (no matching outgoing mail)"
    reason = " ".join(filter(None, [report.status if report else None, report.diagnostic if report else None]))
    item.bounced_at, item.bounce_reason = now, (reason or "bounced")[:2000]
    if item.ticket_id:
        ticket = session.get(Ticket, item.ticket_id)
        if ticket is not None:
            _event(session, ticket, "notice_bounced", now, outbox_id=item.id, reason=item.bounce_reason)
    log.warning("outbox %s (<%s>) bounced: %s", item.id, original, item.bounce_reason)
    return f"bounce of outbox {item.id}"


def handle(session: Session, ctx: Context, row: InboundMessage, now: datetime) -> str:
    """Give one inbound row its outcome (raises MessageRejected for unparseable mail)."""
    parsed = parse_message(row.raw, ctx.config.parsing)
    verdict = first_match(parsed, ctx.filters, ctx.config.filters.rules)
    if verdict is not None:
        row.status = INBOUND_IGNORED
        row.outcome = f"{verdict.rule}: {verdict.reason}"[:255]
        if verdict.rule == BOUNCE:
            row.outcome = _record_bounce(session, parsed, now)[:255]
            return "bounce"
        return "ignored"
    ticket = _find_ticket(session, ctx, parsed)
    if ticket is not None:
        _join_reply(session, ctx, ticket, row, parsed, now)
        outcome = "reply"
    else:
        ticket = _create_ticket(session, ctx, row, parsed, now)
        outcome = "created"
    row.status, row.ticket_id = INBOUND_DONE, ticket.id
    row.outcome = f"{'joined' if outcome == 'reply' else 'created'} {ticket.ref}"
    return outcome


def _quarantine(session: Session, row: InboundMessage, exc: BaseException, now: datetime) -> None:
    row.status = INBOUND_QUARANTINED
    row.error = f"{type(exc).__name__}: {exc}"[:4000]
    row.outcome = "quarantined"
    row.processed_at = now
    log.error("quarantined inbound %s <%s>: %s", row.id, row.message_id, row.error)


def process_once(factory: sessionmaker[Session], engine: Engine, ctx: Context, *,
                 now: Callable[[], datetime], limit: int | None = None) -> ProcessReport:
    """Process every ``new`` inbound row (in batches); return the counts."""
    report = ProcessReport()
    batch = ctx.config.scheduler.process_batch
    while limit is None or report.processed < limit:
        with transaction(factory) as session:
            stmt = (select(InboundMessage).where(InboundMessage.status == INBOUND_NEW)
                    .order_by(InboundMessage.id).limit(batch))
            rows = session.scalars(claim_query(stmt, engine)).all()
            if not rows:
                break
            for row in rows:
                _process_row(session, ctx, row, now(), report)
            crash_point("pipeline.before_commit")
    log.info("%s", report)
    return report


def _process_row(session: Session, ctx: Context, row: InboundMessage, when: datetime, report: ProcessReport) -> None:
    row.attempts += 1
    try:
        with session.begin_nested():
            outcome = handle(session, ctx, row, when)
            row.processed_at = when
    except Exception as exc:  # one message never stops the batch: it gets an outcome
        if not isinstance(exc, MessageRejected):
            log.exception("unexpected error processing inbound %s", row.id)
        _quarantine(session, row, exc, when)
        outcome = "quarantined"
    report.processed += 1
    report.count(outcome)
    if outcome == "created":
        report.created += 1
    elif outcome == "reply":
        report.replies += 1
    elif outcome == "bounce":
        report.bounces += 1
        report.ignored += 1
    elif outcome == "ignored":
        report.ignored += 1
    else:
        report.quarantined += 1


def retry_quarantined(factory: sessionmaker[Session], inbound_id: int) -> bool:
    """Put a quarantined message back in the queue; False if it is not quarantined."""
    with transaction(factory) as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.status != INBOUND_QUARANTINED:
            return False
        row.status, row.error, row.outcome = INBOUND_NEW, None, None
        return True
