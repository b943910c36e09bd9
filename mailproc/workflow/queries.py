"""Agents' query commands by e-mail: ``#list``, ``#queue L1|L2``, ``#show REF``, ``#report``.

A query changes no ticket and needs no ticket tag: the agent mails the shared mailbox and gets
an answer at once. This module decides, without I/O, who may ask what (:func:`read_query`) and
what the answer's tables hold (:func:`ticket_table`); reading the rows and queueing the answer
is :mod:`mailproc.workflow.agentmail`'s.

Who may ask what (the README's table says the same):
  - ``#list``: every agent but a department: the open tickets assigned to them;
  - ``#queue L1|L2``: a supervisor any queue; an l1 or l2 agent their own queue only (the
    queue's agents are the ones its notices go to; another level's work is the supervisors'
    to see), and without an argument their own queue;
  - ``#show REF``: every agent but a department, any ticket (the identifiers masked as the
    customer's notices mask them, so no more is shown than the ticket's notices show);
  - ``#report``: supervisors only (the daily digest, as of now).
A department answers consultations only: it may use none of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from mailproc.core.textnorm import fold
from mailproc.notices.digest import DEADLINE_LABELS, DigestTicket, deadline_of, is_open, queue_of
from mailproc.store.models import Ticket
from mailproc.vocabulary import ROLE_OF_QUEUE, Queue, Role
from mailproc.workflow.commands import Command

QUERY_COMMANDS = frozenset({"list", "queue", "show", "report"})
MAX_ROWS = 200  # a table longer than this ends with "and N more" (the digest's CSV has them all)
MAX_MESSAGES = 5  # the last messages #show shows, with an excerpt each
MAX_EVENTS = 10  # the last events #show shows
EXCERPT_CHARS = 300
BREACHED, DUE_SOON = "breached", "due_soon"
_QUEUE_WORDS = {"l1": Queue.L1, "1": Queue.L1, "cap1": Queue.L1, "l2": Queue.L2, "2": Queue.L2, "cap2": Queue.L2}
_REF_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}-\d{4}-\d{1,12}")


class QueryRefused(ValueError):
    """A query the agent may not ask, or cannot be read; the message says why (for the agent)."""


@dataclass(frozen=True)
class Query:
    name: str  # one of QUERY_COMMANDS
    queue: Queue | None = None  # #queue
    ref: str | None = None  # #show, upper case


def is_query(command: Command) -> bool:
    return command.known and command.name in QUERY_COMMANDS


def read_query(command: Command, role: str) -> Query:
    """The query ``command`` asks, if ``role`` may ask it; raises :class:`QueryRefused`."""
    if role == Role.DEPARTMENT:
        raise QueryRefused("a department may only answer consultations or add #note")
    if command.name == "list":
        return Query("list")
    if command.name == "report":
        if role != Role.SUPERVISOR:
            raise QueryRefused("#report is for supervisors")
        return Query("report")
    if command.name == "queue":
        return Query("queue", queue=_queue(command.arg, role))
    if command.name == "show":
        match = _REF_RE.search(command.arg)
        if match is None:
            raise QueryRefused("#show needs a ticket reference, e.g. '#show KP-2026-000123'")
        return Query("show", ref=match.group().upper())
    raise QueryRefused(f"#{command.name} is not a query")


def _queue(arg: str, role: str) -> Queue:
    own = next((q for q, r in ROLE_OF_QUEUE.items() if r == role), None)
    word = fold(arg.split()[0] if arg.split() else "").replace("-", "").replace("_", "")
    if not word:
        if own is None:
            raise QueryRefused("#queue needs a queue: L1 or L2")
        return own
    queue = _QUEUE_WORDS.get(word)
    if queue is None:
        raise QueryRefused(f"unknown queue {arg.split()[0]!r}: L1 or L2")
    if role != Role.SUPERVISOR and queue != own:
        raise QueryRefused(f"an {role} agent may see queue {own} only; supervisors see every queue")
    return queue


def digest_ticket(ticket: Ticket) -> DigestTicket:
    """A ticket row as the digest and the answers' tables read it."""
    return DigestTicket(ref=ticket.ref, status=ticket.status, queue=ticket.queue, assignee=ticket.assignee,
                        name=ticket.name, received_at=ticket.received_at, closed_at=ticket.closed_at,
                        accept_due=ticket.accept_due, reply_due=ticket.reply_due,
                        accepted=ticket.decided_at is not None, answered=ticket.answered_at is not None)


@dataclass(frozen=True)
class TableRow:
    ref: str
    status: str
    queue: str
    assignee: str | None
    name: str | None
    received: date
    deadline: str | None  # "Chấp nhận" | "Trả lời" (DEADLINE_LABELS), None when none runs
    due: date | None
    state: str  # BREACHED, DUE_SOON or ""
    days_over: int  # calendar days past the due date (breached only)


@dataclass(frozen=True)
class TicketTable:
    rows: tuple[TableRow, ...]  # at most MAX_ROWS: breached first, then by due date, then arrival
    total: int  # open tickets in all
    breached: int
    due_soon: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def ticket_table(tickets: Sequence[DigestTicket], *, today: date, due_soon_until: date, tz: tzinfo,
                 limit: int = MAX_ROWS) -> TicketTable:
    """The open ones of ``tickets`` as a table, with the state of their deadline on ``today``
    (local): breached when due before today, due soon up to ``due_soon_until`` (as the digest)."""
    rows = [table_row(t, today=today, due_soon_until=due_soon_until, tz=tz) for t in tickets if is_open(t)]
    rows.sort(key=lambda r: (r.state != BREACHED, r.due is None, r.due or today, r.received, r.ref))
    return TicketTable(rows=tuple(rows[:limit]), total=len(rows), breached=sum(r.state == BREACHED for r in rows),
                       due_soon=sum(r.state == DUE_SOON for r in rows))


def table_row(ticket: DigestTicket, *, today: date, due_soon_until: date, tz: tzinfo) -> TableRow:
    """One ticket's row: its deadline now and the state of it."""
    deadline = deadline_of(ticket)
    kind, due = deadline if deadline is not None else (None, None)
    state = "" if due is None else BREACHED if due < today else DUE_SOON if due <= due_soon_until else ""
    return TableRow(ref=ticket.ref, status=ticket.status, queue=queue_of(ticket), assignee=ticket.assignee,
                    name=ticket.name, received=ticket.received_at.astimezone(tz).date(),
                    deadline=DEADLINE_LABELS[kind] if kind else None, due=due, state=state,
                    days_over=(today - due).days if state == BREACHED and due is not None else 0)


def table_context(title: str, table: TicketTable) -> dict[str, Any]:
    """One table section of the ``agent_answer`` template."""
    return {"kind": "table", "title": title, "rows": table.rows, "more": table.more, "total": table.total,
            "breached": table.breached, "due_soon": table.due_soon}
