"""Disposition 6 (the last; it always claims): a new complaint becomes a ticket. Step 2 of
the K+ process — the identifiers are taken from the mail, the complaint is assessed (complete
or not, in time or late), routed to a queue when complete, and the customer gets the receipt
or a request for what is missing."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.analysis.pool import local_date
from mailproc.analysis.threads import clean_subject
from mailproc.core.context import Context
from mailproc.store.models import Ticket
from mailproc.vocabulary import InboundStatus, NoticeKind, Outcome
from mailproc.workflow.assess import assess
from mailproc.workflow.batch import BatchState, next_ref
from mailproc.workflow.dispositions.base import Disposed, Mail
from mailproc.workflow.tickets import apply_identifiers, queue_customer_notice, route_ticket

log = logging.getLogger(__name__)


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed:
    ticket = create_ticket(session, ctx, state, mail, now)
    return Disposed(Outcome.CREATED, InboundStatus.PROCESSED, f"created {ticket.ref}", ticket)


def create_ticket(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Ticket:
    cfg, row, a = ctx.config, mail.row, mail.analysis
    parsed, found = a.parsed, a.found
    assert parsed is not None and found is not None and a.received_at is not None
    received_local = local_date(a.received_at, ctx.tz)
    verdict = assess(found, received_local, cfg=cfg.assess, cal_cfg=cfg.calendar, cal=ctx.calendar)
    ticket = Ticket(
        ref=next_ref(session, state, cfg.notices.ref_prefix, received_local.year), mailbox=row.mailbox,
        status=verdict.status, queue=verdict.queue,
        subject=clean_subject(cfg.notices.ref_prefix, parsed.subject)[:255] or "(không có tiêu đề)",
        customer_address=parsed.from_address or "",
        received_at=a.received_at, accept_due=verdict.accept_due, reply_due=verdict.reply_due,
        time_limit=verdict.time_limit, flags=list(verdict.flags), missing=list(verdict.missing),
        created_at=now, updated_at=now,
        # Every column with a default set here too: new tickets are inserted by Core, which
        # writes what the object holds (see batch.insert_created).
        priority="normal", category="other", rules=[], reopened=0, identifier_provenance={},
        identifier_confidence={}, province=None, province_code=None, ward=None, ward_code=None,
    )
    apply_identifiers(ticket, found)
    state.created.append(ticket)  # (not added to the session: insert_created inserts it)
    state.by_ref[ticket.ref] = ticket
    if parsed.message_id:
        state.by_message_id[parsed.message_id] = ticket
        state.conversation[parsed.message_id] = ticket  # the customer's follow-up to it continues it
    state.file_message(ticket, row, parsed, now, body=parsed.customer_text)
    # What this mail gave, field by field with where it was found and how sure: agents see
    # where a value came from, and 'corrections export' which values the first mail carried.
    state.event(ticket, "received", now, inbound_id=row.id, message_id=parsed.message_id,
                found=found.record())
    state.event(ticket, "assessed", now, missing=list(verdict.missing), time_limit=verdict.time_limit,
                reason=verdict.time_limit_reason, flags=list(verdict.flags))
    if verdict.queue:
        route_ticket(session, ctx, state, ticket, parsed.customer_text, now, a.keyword_hits)
    if ticket.smartcard:
        state.card_history.setdefault(ticket.smartcard, []).append(ticket.received_at)
    kind = NoticeKind.NEED_INFO if verdict.missing else NoticeKind.RECEIPT
    key = f"need_info:{ticket.ref}:{row.id}" if verdict.missing else f"receipt:{ticket.ref}"
    queue_customer_notice(ctx, state, ticket, parsed, kind, key, now)
    log.debug("ticket %s created from <%s>: status=%s missing=%s", ticket.ref, parsed.message_id,
             ticket.status, ",".join(verdict.missing) or "-")
    return ticket
