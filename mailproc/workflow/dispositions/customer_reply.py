"""Disposition 5: a message that answers one of our tickets is filed on it. From the ticket's
customer it may fill in the missing identifiers (and complete the assessment) or reopen a
finished ticket, or answer our satisfaction survey (:mod:`mailproc.workflow.survey`); from
anyone else it is filed and changes nothing."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.analysis.extract.fields import FIELDS
from mailproc.analysis.parsing import ParsedMail
from mailproc.core.context import Context
from mailproc.core.textnorm import fold
from mailproc.store.models import Ticket
from mailproc.vocabulary import DONE_STATUSES, InboundStatus, NoticeKind, Outcome, Status
from mailproc.workflow.batch import BatchState, Claimed, answers_us, is_customer
from mailproc.workflow.dispositions.base import Disposed, Mail
from mailproc.workflow.states import Step
from mailproc.workflow.steps import notify_agents, queue_agents, run_step
from mailproc.workflow.survey import record_answer
from mailproc.workflow.tickets import (
    apply_identifiers,
    complete_if_known,
    queue_customer_notice,
    sources_of,
    ticket_identifiers,
)


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    ticket = mail.ticket
    if ticket is None:
        return None
    join_reply(session, ctx, state, ticket, mail, now)
    return Disposed(Outcome.REPLY, InboundStatus.PROCESSED, f"joined {ticket.ref}", ticket)


def join_reply(session: Session, ctx: Context, state: BatchState, ticket: Ticket, mail: Mail, now: datetime) -> None:
    row, parsed, found = mail.row, mail.analysis.parsed, mail.analysis.found
    assert parsed is not None and found is not None
    state.file_message(ticket, row, parsed, now, body=parsed.customer_text)
    if parsed.message_id:
        state.by_message_id.setdefault(parsed.message_id, ticket)
    ticket.updated_at = now
    customer = is_customer(ticket, parsed.from_address)
    if not customer or not answers_us(state, parsed, ticket):
        # Only the tag in the subject (anyone can type it), or another sender: filed and
        # shown to the agents, but it fills in nothing and reopens nothing by itself.
        state.event(ticket, "message_from_other_sender" if not customer else "unverified_reply", now,
                    inbound_id=row.id, sender=parsed.from_address, message_id=parsed.message_id)
        notify_agents(session, ctx, state, ticket, queue_agents(ctx, ticket) or ctx.roster.supervisors(),
                      NoticeKind.AGENT_NOTICE, f"agent_notice:{ticket.ref}:unverified:{row.id}", now,
                      event="unverified_message", message=parsed.new_text, sender=parsed.from_address or "")
        return
    state.event(ticket, "customer_reply", now, inbound_id=row.id, message_id=parsed.message_id)
    if record_answer(session, ctx, state, ticket, parsed, row.id, now):  # an answer to our survey
        return
    if ticket.status in DONE_STATUSES:
        maybe_reopen(session, ctx, state, ticket, parsed, row, now)
        return
    if ticket.status != Status.ASSESSING:
        notify_agents(session, ctx, state, ticket, queue_agents(ctx, ticket), NoticeKind.AGENT_NOTICE,
                      f"agent_notice:{ticket.ref}:reply:{row.id}", now, event="customer_reply",
                      message=parsed.new_text)
    known = ticket_identifiers(ticket)
    # The reply fills what is missing and replaces what was found with low confidence by a
    # surer value; a value the ticket holds with more confidence is kept, and a different one
    # in the reply is left for the agents to see (never replaced silently).
    merged = known.merged_with(found)
    changed = apply_identifiers(ticket, merged)
    if changed:
        state.event(ticket, "identifiers_added", now, fields=changed,
                    replaced=[name for name in changed if getattr(known, name) is not None],
                    sources=sources_of(merged, changed))
    differ = [name for name in FIELDS if getattr(found, name) is not None and name not in changed
              and getattr(merged, name) != getattr(found, name)]
    if differ:
        state.event(ticket, "identifiers_differ", now, fields=differ, inbound_id=row.id)
    if ticket.status != Status.ASSESSING:
        return
    if not complete_if_known(session, ctx, state, ticket, parsed.customer_text, now, fields=changed):
        key = f"need_info:{ticket.ref}:{row.id}"
        queue_customer_notice(ctx, state, ticket, parsed, NoticeKind.NEED_INFO, key, now)
        return
    queue_customer_notice(ctx, state, ticket, parsed, NoticeKind.RECEIPT, f"receipt:{ticket.ref}", now)


_THANKS = re.compile(r"\b(?:cam on|thank|thanks|da nhan duoc|ok)\b")
_STILL_BROKEN = re.compile(r"\b(?:chua|khong|van|still|not|again|lai)\b")


def maybe_reopen(session: Session, ctx: Context, state: BatchState, ticket: Ticket, parsed: ParsedMail,
                  row: Claimed, now: datetime) -> None:
    """A customer writing back about a finished ticket: reopen at level 2 unless it is only a thank-you."""
    folded = fold(parsed.new_text)
    if len(folded) < 200 and _THANKS.search(folded) and not _STILL_BROKEN.search(folded):
        state.event(ticket, "thanks_received", now, inbound_id=row.id)
        return
    decision = run_step(session, ctx, state, ticket, Step("reopen"), actor=ticket.customer_address, now=now,
                        tag=str(row.id))
    if not decision.ok:
        state.event(ticket, "reopen_refused", now, reason=decision.reason)
        notify_agents(session, ctx, state, ticket, ctx.roster.supervisors(), NoticeKind.AGENT_NOTICE,
                      f"agent_notice:{ticket.ref}:late_reply:{row.id}", now, event="customer_reply_after_close",
                      message=parsed.new_text)
