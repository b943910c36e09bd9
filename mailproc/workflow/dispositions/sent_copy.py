"""Disposition 2: mail in the shared mailbox's Sent folder is a reply an agent sent from it; it
is filed on its ticket (only mailbox users can put mail there), never answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.core.context import Context
from mailproc.store.models import OutboxItem
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.agentmail import file_sent_copy
from mailproc.workflow.batch import BatchState
from mailproc.workflow.dispositions.base import Disposed, Mail


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    sent = ctx.config.mailbox(mail.row.mailbox).sent_folder
    if not sent or mail.row.folder != sent:
        return None
    message_id = mail.parsed.message_id
    if message_id and session.scalar(select(OutboxItem.id).where(OutboxItem.message_id == message_id).limit(1)):
        # The platform's own copy of a notice mailproc sent (Exchange Online and Gmail save
        # mail submitted over SMTP in Sent): not an agent's reply.
        return Disposed(Outcome.IGNORED, InboundStatus.IGNORED, "own notice (the platform's copy in Sent)")
    ticket = mail.ticket
    note = file_sent_copy(ctx, state, ticket, mail.row, mail.parsed, now)
    if ticket is None:
        return Disposed(Outcome.IGNORED, InboundStatus.IGNORED, note)
    return Disposed(Outcome.REPLY, InboundStatus.PROCESSED, note, ticket)
