"""Disposition 1: a message that could not be analysed is quarantined with its error (the raw
bytes stay; ``mailproc quarantine retry ID`` puts it back)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.core.context import Context
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.batch import BatchState
from mailproc.workflow.dispositions.base import Disposed, Mail

log = logging.getLogger(__name__)


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    a = mail.analysis
    if a.error is None and a.parsed is not None:
        return None
    error = (a.error or "no analysis")[:4000]
    log.error("quarantined inbound %s <%s>: %s", mail.row.id, mail.row.message_id, error)
    return Disposed(Outcome.QUARANTINED, InboundStatus.QUARANTINED, "quarantined", error=error)
