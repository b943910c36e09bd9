"""Carry out workflow steps on stored tickets: status, fields, events and the notices they send.

:func:`run_step` checks a step with the pure :func:`mailproc.workflow.states.decide` and, if it is
allowed, applies it: the new status and queue, the fields the step sets, one event saying who
did what and why, and the notices (to the customer, the queue's agents, a department). Rows
that hang off tickets go through a :class:`Sink`, written in bulk after the tickets are
flushed, so the pipeline's batches and the deadline sweep share one way of writing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from mailproc.analysis.parsing import ParsedMail
from mailproc.core.context import Context
from mailproc.core.roster import Agent
from mailproc.errors import WorkflowError
from mailproc.notices.outbox import Notice, render_row
from mailproc.notices.render import InvalidAddress, defang, mask, mask_numbers, parse_address
from mailproc.store.db import allocate_ids, fit
from mailproc.store.models import Attachment, Base, Event, OutboxAttachment, OutboxItem, Ticket, TicketMessage
from mailproc.vocabulary import CUSTOMER_KINDS, QUEUE_OF, ROLE_OF_QUEUE, Actor, Queue, Role, Status
from mailproc.workflow.assess import FIELD_LABELS_VI
from mailproc.workflow.states import (
    Decision,
    Policy,
    Step,
    TicketState,
    decide,
)

IDENTIFIER_FIELDS = ("name", "address", "phone", "email", "smartcard", "decoder")
SYSTEM_ACTOR = Actor.PIPELINE


class InboundRow(Protocol):
    """What filing an e-mail on a ticket needs of its inbound row."""

    @property
    def id(self) -> int: ...


@dataclass
class Sink:
    """Events, ticket messages and outbox rows waiting for their tickets' ids."""

    events: list[tuple[Ticket, dict[str, Any]]] = field(default_factory=list)
    messages: list[tuple[Ticket, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    outbox: list[tuple[Ticket | None, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    dedupe_keys: set[str] = field(default_factory=set)

    def event(self, ticket: Ticket, kind: str, now: datetime, actor: str = SYSTEM_ACTOR, **detail: Any) -> None:
        self.events.append((ticket, {"at": now, "actor": actor, "kind": kind, "detail": detail}))

    def file_message(self, ticket: Ticket, row: InboundRow, parsed: ParsedMail, now: datetime, *,
                     body: str, direction: str = "in") -> None:
        """Record an e-mail (with its attachments) on a ticket."""
        self.messages.append((ticket, {
            "inbound_id": row.id, "outbox_id": None, "direction": direction, "message_id": parsed.message_id,
            "from_address": parsed.from_address or "", "subject": parsed.subject, "body_text": body,
            "quoted_text": parsed.quoted_text, "created_at": now,
        }, [{"filename": a.filename, "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
             "data": a.data, "note": a.note} for a in parsed.attachments]))

    def write(self, session: Session) -> None:
        """Insert everything collected (after the session flushed the tickets): one
        multi-row INSERT per table. Messages and outbox rows get their ids beforehand,
        for their attachments to point at."""
        ids = insert_rows(session, TicketMessage, [{**row, "ticket_id": t.id} for t, row, _ in self.messages],
                      with_ids=any(files for _, _, files in self.messages))
        if ids:
            insert_rows(session, Attachment, [{**f, "ticket_message_id": mid}
                                          for mid, (_, _, files) in zip(ids, self.messages, strict=True)
                                          for f in files])
        ids = insert_rows(session, OutboxItem, [{**row, "ticket_id": t.id if t else None} for t, row, _ in self.outbox],
                      with_ids=any(files for _, _, files in self.outbox))
        if ids:
            insert_rows(session, OutboxAttachment, [{**f, "outbox_id": oid}
                                                for oid, (_, _, files) in zip(ids, self.outbox, strict=True)
                                                for f in files])
        insert_rows(session, Event, [{**row, "ticket_id": t.id} for t, row in self.events])
        self.events, self.messages, self.outbox = [], [], []


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]], *,
                with_ids: bool = False) -> list[int]:
    """Insert ``rows`` in one statement (Core: no per-row ORM bookkeeping); with ``with_ids``
    give them fresh ids first and return those, in the order of ``rows``."""
    if not rows:
        return []
    table = cast(Table, model.__table__)
    rows = [fit(table, row) for row in rows]  # bounded, NUL-free: one hostile value never fails the batch
    ids = allocate_ids(session, table, len(rows)) if with_ids else []
    if ids:
        rows = [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)]
    session.execute(insert(table), rows)
    return ids


def policy_of(ctx: Context) -> Policy:
    """The company's choices the state machine follows."""
    return Policy(reject_late=ctx.config.workflow.reject_late, reopen_days=ctx.config.workflow.reopen_days)


def ticket_state(ticket: Ticket) -> TicketState:
    return TicketState(status=Status(ticket.status), time_limit=ticket.time_limit,
                       final_ready=ticket.final_text is not None, closed_at=ticket.closed_at,
                       has_assignee=ticket.assignee is not None)


def base_context(ctx: Context, ticket: Ticket) -> dict[str, Any]:
    """What every template may show about a ticket (card and phone masked)."""
    received_local = ticket.received_at.astimezone(ctx.tz)
    return {
        "ref": ticket.ref,
        "name": ticket.name,
        # A card or phone typed in the subject goes back masked, and no link of theirs goes back.
        "subject": defang(mask_numbers(ticket.subject)),
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
        "excerpt": "",
        "late": "late" in ticket.flags,
        "company": ctx.config.notices.company_name,
        "department": ctx.config.notices.department,
        "hotline": ctx.config.notices.hotline,
        "city": ctx.config.notices.city,
        "status": ticket.status,
        "queue": ticket.queue,
    }


def agent_context(ctx: Context, ticket: Ticket, customer_text: str) -> dict[str, Any]:
    """For agents: the full identifiers, the customer's text, the deadlines, the flags."""
    context = base_context(ctx, ticket)
    context.update({
        "identifiers": [(FIELD_LABELS_VI[f], getattr(ticket, f)) for f in IDENTIFIER_FIELDS if getattr(ticket, f)],
        "customer_text": customer_text,
        "flags": list(ticket.flags),
        "rules": list(ticket.rules),
        "assignee": ticket.assignee,
        "priority": ticket.priority,
        "category": ticket.category,
        "customer_address": ticket.customer_address,
    })
    return context


def last_customer_message(session: Session, ticket: Ticket) -> TicketMessage | None:
    """The customer's own latest mail on the ticket (not an agent's or anyone else's), which
    notices to the customer are threaded under and agents are shown."""
    if ticket.id is None:
        return None
    customer = {a.lower() for a in (ticket.customer_address, ticket.email) if a}
    return session.scalar(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id,
                                                      TicketMessage.direction == "in",
                                                      func.lower(TicketMessage.from_address).in_(customer))
                          .order_by(TicketMessage.id.desc()).limit(1))


def queue_notice(ctx: Context, sink: Sink, ticket: Ticket | None, *, kind: str, to: str, dedupe_key: str,
                 context: dict[str, Any], now: datetime, in_reply_to: str | None = None,
                 references: Sequence[str] = (), attachments: Sequence[tuple[str, str, bytes]] = ()) -> str:
    """Render and collect one notice; returns "queued", "duplicate" or "no_address"."""
    if dedupe_key in sink.dedupe_keys:
        return "duplicate"
    try:
        parse_address(to)
    except InvalidAddress:
        if ticket is not None:
            sink.event(ticket, "notice_skipped", now, notice=kind, reason=f"no usable address {to[:80]!r}")
        return "no_address"
    # Notices about a ticket of another complaints mailbox come from that mailbox's address.
    sender = ctx.config.sender_for(ticket.mailbox)[0] if ticket is not None and ticket.mailbox else None
    row = render_row(ctx.env, ctx.config, Notice(kind=kind, to=to, dedupe_key=dedupe_key, context=context,
                                                 ref=ticket.ref if ticket else None, in_reply_to=in_reply_to,
                                                 references=tuple(references), from_address=sender), now)
    files = [{"filename": name, "content_type": ctype, "data": data} for name, ctype, data in attachments]
    sink.outbox.append((ticket, row, files))
    sink.dedupe_keys.add(dedupe_key)
    if ticket is not None:
        shown = to if kind not in CUSTOMER_KINDS else "customer"
        sink.event(ticket, "notice_queued", now, notice=kind, to=shown,
                   message_id=row["message_id"])
    return "queued"


def notify_customer(session: Session, ctx: Context, sink: Sink, ticket: Ticket, kind: str, key: str,
                    now: datetime, attachments: Sequence[tuple[str, str, bytes]] = (), **extra: Any) -> str:
    """A notice to the customer, threaded under their last message."""
    last = last_customer_message(session, ticket)
    context = {**base_context(ctx, ticket), **extra}
    return queue_notice(ctx, sink, ticket, kind=kind, to=ticket.customer_address, dedupe_key=key, context=context,
                        now=now, in_reply_to=last.message_id if last else None,
                        references=[last.message_id] if last and last.message_id else [], attachments=attachments)


def notify_agents(session: Session, ctx: Context, sink: Sink, ticket: Ticket, agents: Sequence[Agent], kind: str,
                  key: str, now: datetime, **extra: Any) -> int:
    """The same notice to each of ``agents`` (ticket tag in the subject; replies come back to us)."""
    if not agents:
        return 0
    last = last_customer_message(session, ticket)
    context = {**agent_context(ctx, ticket, last.body_text if last else ""), **extra}
    sent = 0
    for agent in agents:
        sent += queue_notice(ctx, sink, ticket, kind=kind, to=agent.email, dedupe_key=f"{key}:{agent.email}",
                             context={**context, "agent": agent}, now=now) == "queued"
    return sent


def queue_agents(ctx: Context, ticket: Ticket) -> list[Agent]:
    """Who works the ticket's queue now: its assignee if any, else every agent of the queue."""
    if ticket.assignee:
        agent = ctx.roster.get(ticket.assignee)
        if agent is not None:
            return [agent]
    role = ROLE_OF_QUEUE.get(Queue(ticket.queue)) if ticket.queue else None
    return ctx.roster.by_role(role) if role else []


def set_status(ticket: Ticket, status: Status, now: datetime) -> None:
    ticket.status, ticket.queue, ticket.updated_at = status, QUEUE_OF.get(status), now
    if status in (Status.CLOSED, Status.ANSWERED, Status.REJECTED):
        ticket.closed_at = now
    elif status == Status.L2:
        ticket.closed_at = None


def transition(ctx: Context, ticket: Ticket, step_name: str, now: datetime) -> Decision:
    """Change a ticket's status by one of the state machine's system steps, without the step's
    effects (the caller queues what it must); refused steps raise :class:`WorkflowError`."""
    decision = decide(ticket_state(ticket), Step(step_name), now=now, policy=policy_of(ctx))
    if not decision.ok:
        raise WorkflowError(f"ticket {ticket.ref}: {decision.reason}")
    set_status(ticket, decision.status, now)
    return decision


def roster_refusal(ctx: Context, step: Step) -> str | None:
    """Why a step naming a person or a department cannot be done with this roster, if it cannot
    (the state machine checks the rest); checked with the others before any command of a mail
    acts, so a mail's commands are all carried out or none."""
    if step.name == "assign":
        agent = ctx.roster.get(step.arg.strip().lower())
        if agent is None or agent.role not in (Role.L1, Role.L2, Role.SUPERVISOR):
            return f"#assign needs the address of an agent (l1, l2 or supervisor), not {step.arg!r}"
    if step.name == "consult" and not ctx.roster.department(step.arg):
        known = sorted({a.department for a in ctx.roster.by_role(Role.DEPARTMENT)})
        return f"no department {step.arg!r} (known: {', '.join(known) or 'none configured'})"
    return None


def run_step(session: Session, ctx: Context, sink: Sink, ticket: Ticket, step: Step, *, actor: str, now: datetime,
             body: str = "", tag: str = "") -> Decision:
    """Apply one workflow step if the process allows it; the Decision says what happened."""
    decision = decide(ticket_state(ticket), step, now=now, policy=policy_of(ctx))
    if not decision.ok:
        return decision
    refusal = roster_refusal(ctx, step)
    if refusal:
        return Decision(False, refusal, Status(ticket.status))
    if step.name == "assign":
        agent = ctx.roster.get(step.arg.strip().lower())
        assert agent is not None  # checked by roster_refusal
        ticket.assignee = agent.email
    old = ticket.status
    set_status(ticket, decision.status, now)
    key = f"{step.name}:{ticket.ref}:{tag or now.isoformat()}"
    if step.name in ("accept", "reject", "auto_accept"):
        ticket.decided_at = now
        ticket.decision_reason = step.arg or None
    if step.name == "final":
        ticket.final_text, ticket.final_ready_at = body, now
    if step.name == "reopen":
        ticket.reopened += 1
        ticket.final_text = ticket.final_ready_at = ticket.answered_at = None
    if step.name == "answered":
        ticket.answered_at = now
    sink.event(ticket, step.name, now, actor=actor, old=old, new=ticket.status, arg=step.arg or None,
               reason=decision.reason)
    for kind in decision.notices:
        if kind == "consult":
            notify_agents(session, ctx, sink, ticket, ctx.roster.department(step.arg), "consult", key, now,
                          message=body, department=step.arg)
        else:
            notify_customer(session, ctx, sink, ticket, kind, f"{kind}:{ticket.ref}:{tag or now.isoformat()}",
                            now, message=body, reason=step.arg,
                            when_where=step.arg if step.name == "meeting" else "")
    if ticket.status == Status.L2 and old != Status.L2 and step.name in ("escalate", "auto_escalate", "reopen"):
        notify_agents(session, ctx, sink, ticket, queue_agents(ctx, ticket), "agent_notice",
                      f"agent_notice:{ticket.ref}:l2:{ticket.reopened}", now, event="escalated" if step.name != "reopen"
                      else "reopened")
    if step.name == "assign":
        notify_agents(session, ctx, sink, ticket, queue_agents(ctx, ticket), "agent_notice",
                      f"agent_notice:{ticket.ref}:assign:{tag or now.isoformat()}", now, event="assigned")
    return decision
