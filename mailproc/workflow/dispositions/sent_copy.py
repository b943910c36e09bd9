"""Disposition 2: mail in the shared mailbox's Sent folder is a reply an agent sent from it; it
is filed on its ticket (only mailbox users can put mail there), never answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.core.context import Context
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.agentmail import file_sent_copy
from mailproc.workflow.batch import BatchState
from mailproc.workflow.dispositions.base import Disposed, Mail


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    sent = ctx.config.imap.sent_folder
    if not sent or mail.row.folder != sent:
        return None
    ticket = mail.ticket
    note = file_sent_copy(ctx, state, ticket, mail.row, mail.parsed, now)
    if ticket is None:
        return Disposed(Outcome.IGNORED, InboundStatus.IGNORED, note)
    return Disposed(Outcome.REPLY, InboundStatus.PROCESSED, note, ticket)
