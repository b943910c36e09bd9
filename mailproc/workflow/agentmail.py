"""Mail from agents through the shared mailbox: commands that move tickets, text for customers.

An agent's mail acts only when the sender is in the roster *and* the message is authenticated
(:func:`mailproc.core.roster.authenticate`). Commands at the top of the reply are checked all
together first — one that is unknown, not allowed for the role or impossible in the ticket's
state refuses the whole mail, changes nothing, and the agent gets a reply saying why with
the commands allowed now. The rest of the text goes to the customer inside the company
template (never from the agent's own address), or stays internal with ``#note``.
A mail of queries (``#list``, ``#queue``, ``#show``, ``#report``: :mod:`mailproc.workflow.queries`)
needs no ticket and changes none: the agent gets the answer at once, threaded under their mail.
Replies agents send straight from the shared mailbox (its Sent folder) are filed too.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailproc.analysis.extract.fields import HIGH
from mailproc.analysis.parsing import ParsedMail
from mailproc.core.context import Context
from mailproc.core.roster import Agent
from mailproc.notices.digest import DUE_SOON_WORKING_DAYS, build_digest, csv_filename, digest_context, digest_csv
from mailproc.notices.render import defang, mask_numbers
from mailproc.store.models import Event, Ticket, TicketMessage
from mailproc.vocabulary import OPEN_STATUSES, Actor, NoticeKind, Queue, Role, Status
from mailproc.workflow.batch import BatchState
from mailproc.workflow.commands import (
    Command,
    CorrectionError,
    ParsedCommands,
    parse_commands,
    parse_correction,
    spellings,
)
from mailproc.workflow.logged import log_complaint, receipt_to_agent
from mailproc.workflow.queries import (
    EXCERPT_CHARS,
    MAX_EVENTS,
    MAX_MESSAGES,
    Query,
    QueryRefused,
    digest_ticket,
    is_query,
    read_query,
    table_context,
    table_row,
    ticket_table,
)
from mailproc.workflow.states import Step, allowed, decide
from mailproc.workflow.steps import (
    InboundRow,
    Sink,
    base_context,
    last_customer_message,
    notify_agents,
    notify_customer,
    policy_of,
    queue_notice,
    roster_refusal,
    run_step,
    ticket_state,
)
from mailproc.workflow.tickets import AGENT, complete_if_known, correct_identifier, reassess_time_limit

# Commands whose step uses the agent's text itself (so it is not relayed separately).
TEXT_USERS = frozenset({"resolve", "accept", "reject", "meeting", "final", "note", "consult"})


def _refuse(ctx: Context, sink: Sink, ticket: Ticket | None, agent: Agent, row: InboundRow, reasons: list[str],
            now: datetime) -> str:
    state = ticket_state(ticket) if ticket is not None else None
    possible = allowed(state, agent.role) if state is not None else []
    queue_notice(ctx, sink, ticket, kind="command_refused", to=agent.email, now=now,
                 dedupe_key=f"command_refused:{row.id}",
                 context={"ref": ticket.ref if ticket else None, "reasons": reasons, "agent": agent,
                          "status": ticket.status if ticket else None,
                          "allowed": [spellings(name) for name in possible],
                          "company": ctx.config.notices.company_name})
    if ticket is not None:
        sink.event(ticket, "command_refused", now, actor=agent.email, reasons=reasons)
    return "agent_refused"


def log_by_mail(session: Session, ctx: Context, sink: BatchState, row: InboundRow, parsed: ParsedMail,
                commands: ParsedCommands, agent: Agent, now: datetime) -> tuple[str, Ticket | None]:
    """``#new``: the complaint the agent forwards or writes down becomes a ticket
    (:mod:`mailproc.workflow.logged`); a mail that cannot be logged is refused, with why.
    Returns the inbound row's outcome and the new ticket."""
    logged = log_complaint(session, ctx, sink, row, parsed, commands, agent, now)
    if isinstance(logged, list):
        return _refuse(ctx, sink, None, agent, row, logged, now), None
    return f"logged {logged.ref}", logged


def _check_all(ticket: Ticket, commands: ParsedCommands, agent: Agent, ctx: Context, now: datetime) -> list[str]:
    """Every reason the mail's commands cannot all be carried out, checked in order on a copy."""
    reasons = [f"#{c.name}: unknown command" for c in commands.commands if not c.known]
    state = ticket_state(ticket)
    for command in commands.commands:
        if not command.known:
            continue
        step = Step(command.name, command.arg, role=agent.role)
        decision = decide(state, step, now=now, policy=policy_of(ctx))
        refusal = decision.reason if not decision.ok else roster_refusal(ctx, step) or _correction_refusal(ctx, step)
        if refusal:
            reasons.append(f"{command.line.strip()}: {refusal}")
            break
        state = dataclasses.replace(state, status=decision.status,
                                    final_ready=state.final_ready or command.name == "final")
    return reasons


def _correction_refusal(ctx: Context, step: Step) -> str | None:
    """Why a ``#set`` cannot be carried out (an unknown field, an invalid value), if it cannot."""
    if step.name != "set":
        return None
    try:
        parse_correction(step.arg, ctx.config.extract)
    except CorrectionError as exc:
        return str(exc)
    return None


def _set(session: Session, ctx: Context, state: BatchState, ticket: Ticket, command: Command, agent: Agent,
         now: datetime) -> None:
    """``#set FIELD VALUE`` (checked with the mail's other commands): the identifier takes the
    agent's value, sure and from the agent; the event keeps the old and the new value (in the
    database only: never logged). A date or category set judges the time limit again; on a
    ticket being assessed, the last missing identifier sends it on to level 1 as a customer's
    reply would, by the state machine, and the customer gets the receipt (without an e-mail,
    the agent gets it as a PDF to hand over)."""
    correction = parse_correction(command.arg, ctx.config.extract)
    old = correct_identifier(ticket, correction.field, correction.value)
    detail: dict[str, object] = {**correction.event_detail(old), "provenance": AGENT, "confidence": HIGH}
    if correction.field in ("incident_date", "category"):
        limit = reassess_time_limit(ctx, ticket)
        detail.update(time_limit=limit.status, reason=limit.reason)
    state.event(ticket, "identifier_set", now, actor=agent.email, **detail)
    if ticket.status != Status.ASSESSING:
        return
    last = last_customer_message(session, ticket)
    if not complete_if_known(session, ctx, state, ticket, last.body_text if last else "", now,
                             fields=[correction.field]):
        return
    if ticket.customer_address:
        notify_customer(session, ctx, state, ticket, NoticeKind.RECEIPT, f"receipt:{ticket.ref}", now)
    else:  # a complaint logged or imported without an e-mail: the agent hands the receipt over
        receipt_to_agent(ctx, state, ticket, agent, last.body_text if last else "", now)


def handle_agent_mail(session: Session, ctx: Context, sink: BatchState, ticket: Ticket | None, row: InboundRow,
                      parsed: ParsedMail, agent: Agent, now: datetime) -> str:
    """Carry out an authenticated agent's mail; returns the inbound row's outcome."""
    commands = parse_commands(parsed.new_text)
    if any(is_query(c) for c in commands.commands):
        return answer_queries(session, ctx, sink, row, parsed, commands, agent, now)
    if ticket is None:
        return _refuse(ctx, sink, None, agent, row, [
            "no ticket found: reply to the ticket's e-mail and keep its tag [KP-…] in the subject"], now)
    sink.file_message(ticket, row, parsed, now, body=parsed.new_text)
    if agent.role == Role.DEPARTMENT:
        return _department_answer(session, ctx, sink, ticket, row, commands, agent, now)
    reasons = _check_all(ticket, commands, agent, ctx, now)
    if re.match(r"#[^\W\d_]", commands.body):
        reasons.append("commands must stand together at the top of the mail, with no blank line between them")
    if reasons:
        return _refuse(ctx, sink, ticket, agent, row, reasons, now)
    body = commands.body
    tag = str(row.id)
    for command in commands.commands:
        if command.name == "set":  # no step of the process's own: it corrects, it moves nothing
            _set(session, ctx, sink, ticket, command, agent, now)
            continue
        run_step(session, ctx, sink, ticket, Step(command.name, command.arg, role=agent.role), actor=agent.email,
                 now=now, body=body, tag=tag)
        if command.name == "note":
            sink.event(ticket, "note_text", now, actor=agent.email, text=(command.arg + "\n" + body).strip())
        if command.name == "minutes":
            sink.event(ticket, "minutes_filed", now, actor=agent.email,
                       files=[a.filename for a in parsed.attachments])
    used = {c.name for c in commands.commands} & TEXT_USERS
    if body and not used:
        if commands.commands:  # e.g. #escalate with a line for the next level: internal
            sink.event(ticket, "note_text", now, actor=agent.email, text=body)
        else:
            decision = run_step(session, ctx, sink, ticket, Step("relay", role=agent.role), actor=agent.email,
                                now=now, body=body, tag=tag)
            if not decision.ok:
                reason = f"the text cannot go to the customer: {decision.reason}"
                return _refuse(ctx, sink, ticket, agent, row, [reason], now)
    ticket.updated_at = now
    return "agent_command" if commands.commands else "agent_relay"


def _department_answer(session: Session, ctx: Context, sink: Sink, ticket: Ticket, row: InboundRow,
                       commands: ParsedCommands, agent: Agent, now: datetime) -> str:
    others = [c for c in commands.commands if c.name != "note"]
    if others:
        return _refuse(ctx, sink, ticket, agent, row,
                       [f"{c.line.strip()}: a department may only answer or add #note" for c in others], now)
    sink.event(ticket, "consult_answer", now, actor=agent.email, department=agent.department, text=commands.body)
    from mailproc.workflow.steps import queue_agents

    notify_agents(session, ctx, sink, ticket, queue_agents(ctx, ticket), "agent_notice",
                  f"agent_notice:{ticket.ref}:consult_answer:{row.id}", now, event="consult_answer",
                  message=commands.body, department=agent.department)
    return "consult_answer"


def file_sent_copy(ctx: Context, sink: Sink, ticket: Ticket | None, row: InboundRow, parsed: ParsedMail,
                   now: datetime) -> str:
    """A reply an agent sent straight from the shared mailbox: recorded on its ticket."""
    if ticket is None:
        return "sent_copy_no_ticket"
    sink.file_message(ticket, row, parsed, now, body=parsed.new_text, direction="out")
    sink.event(ticket, "agent_reply_sent", now, actor=parsed.from_address or "shared mailbox",
               message_id=parsed.message_id, to=list(parsed.to))
    ticket.updated_at = now
    return "sent_copy"


def answer_queries(session: Session, ctx: Context, sink: Sink, row: InboundRow, parsed: ParsedMail,
                   commands: ParsedCommands, agent: Agent, now: datetime) -> str:
    """A mail of queries: one answer (``agent_answer``) with a section per ``#list``, ``#queue``
    and ``#show``, and ``#report``'s digest, queued to the agent under their mail. No ticket
    changes, nothing is filed on one. A ticket command, an unknown one or a query the agent may
    not ask refuses the whole mail."""
    reasons: list[str] = []
    queries: list[Query] = []
    for command in commands.commands:
        if not command.known:
            reasons.append(f"#{command.name}: unknown command")
        elif not is_query(command):
            reasons.append(f"{command.line.strip()}: queries (#list, #queue, #show, #report) stand alone; "
                           "send ticket commands in a reply to the ticket")
        else:
            try:
                queries.append(read_query(command, agent.role))
            except QueryRefused as exc:
                reasons.append(f"{command.line.strip()}: {exc}")
    shown = {q.ref: session.scalar(select(Ticket).where(Ticket.ref == q.ref)) for q in queries if q.ref}
    reasons += [f"#show {ref}: no such ticket" for ref, found in shown.items() if found is None]
    if reasons:
        return _refuse(ctx, sink, None, agent, row, reasons, now)
    thread: dict[str, Any] = {"in_reply_to": parsed.message_id,
                              "references": [*parsed.references, parsed.message_id] if parsed.message_id else []}
    today = now.astimezone(ctx.tz).date()
    until = ctx.calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)
    sections: list[dict[str, Any]] = []
    for query in queries:
        if query.name == "report":
            _report(session, ctx, sink, row, agent, now, thread)
            continue
        if query.name == "show":
            found = shown.get(query.ref or "")
            assert found is not None  # refused above otherwise
            sections.append(_show(session, ctx, found, today, until))
            continue
        open_tickets = select(Ticket).where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
        if query.name == "list":
            title = f"Khiếu nại đang mở giao cho {agent.email} / your open tickets"
            open_tickets = open_tickets.where(func.lower(Ticket.assignee) == agent.email.lower())
        else:  # the queue, and for L1 the tickets waiting for the customer's identifiers (L1 completes them)
            title = f"Hàng đợi {query.queue} / queue {query.queue}: khiếu nại đang mở"
            in_queue = Ticket.queue == query.queue
            open_tickets = open_tickets.where(in_queue | (Ticket.status == Status.ASSESSING)
                                              if query.queue == Queue.L1 else in_queue)
        tickets = [digest_ticket(t) for t in session.scalars(open_tickets.order_by(Ticket.id))]
        sections.append(table_context(title, ticket_table(tickets, today=today, due_soon_until=until, tz=ctx.tz)))
    if sections:
        queue_notice(ctx, sink, None, kind=NoticeKind.AGENT_ANSWER, to=agent.email, now=now,
                     dedupe_key=f"agent_answer:{row.id}", **thread,
                     context={"agent": agent, "subject": parsed.subject, "sections": sections, "today": today,
                              "company": ctx.config.notices.company_name})
    return "agent_query"


def _show(session: Session, ctx: Context, ticket: Ticket, today: date, until: date) -> dict[str, Any]:
    """``#show``: the ticket as its notices show it (card and phone masked), its deadline, its
    last messages (an excerpt, numbers masked) and events (kind and who, not their detail)."""
    messages = list(session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
                                    .order_by(TicketMessage.id.desc()).limit(MAX_MESSAGES)))
    events = list(session.scalars(select(Event).where(Event.ticket_id == ticket.id)
                                  .order_by(Event.id.desc()).limit(MAX_EVENTS)))

    def who(address: str, direction: str = "in") -> str:
        if ctx.roster.get(address) is not None or address in set(Actor):
            return address
        return "khách hàng / customer" if direction == "in" else "hộp thư chung / shared mailbox"

    return {
        **base_context(ctx, ticket), "kind": "ticket", "assignee": ticket.assignee,
        "row": table_row(digest_ticket(ticket), today=today, due_soon_until=until, tz=ctx.tz),
        "messages": [{"at": m.created_at.astimezone(ctx.tz), "who": who(m.from_address, m.direction),
                      "excerpt": defang(mask_numbers(" ".join(m.body_text.split())))[:EXCERPT_CHARS]}
                     for m in reversed(messages)],
        "events": [{"at": e.at.astimezone(ctx.tz), "kind": e.kind, "who": who(e.actor)} for e in reversed(events)],
    }


def _report(session: Session, ctx: Context, sink: Sink, row: InboundRow, agent: Agent, now: datetime,
            thread: dict[str, Any]) -> None:
    """``#report``: the supervisors' digest as of now (what :mod:`mailproc.workflow.digest` sends
    each day, its CSV attached), to this supervisor only."""
    tickets = [digest_ticket(t) for t in session.scalars(select(Ticket).order_by(Ticket.id))]
    digest = build_digest(tickets, now=now, tz=ctx.tz, working_days_after=ctx.calendar.add_working_days)
    context = {**digest_context(digest), "company": ctx.config.notices.company_name,
               "department": ctx.config.notices.department}
    queue_notice(ctx, sink, None, kind=NoticeKind.DIGEST, to=agent.email, context=context, now=now,
                 dedupe_key=f"agent_answer:{row.id}:report",
                 attachments=[(csv_filename(digest), "text/csv", digest_csv(digest))], **thread)
