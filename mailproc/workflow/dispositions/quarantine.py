"""Disposition 1: a message that could not be analysed is quarantined with its error (the raw
bytes stay; ``mailproc quarantine retry ID`` puts it back). It is logged once committed
(:mod:`mailproc.workflow.process`), never before: "quarantined" only when it was."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.core.context import Context
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.batch import BatchState
from mailproc.workflow.dispositions.base import Disposed, Mail


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    a = mail.analysis
    if a.error is None and a.parsed is not None:
        return None
    error = (a.error or "no analysis")[:4000]
    return Disposed(Outcome.QUARANTINED, InboundStatus.QUARANTINED, "quarantined", error=error)
