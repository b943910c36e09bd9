"""Disposition 3: auto-replies, list mail, robots and bounces make no ticket and get no reply;
a bounce (DSN) is recorded against the outgoing e-mail it reports on."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.analysis.parsing import ParsedMail
from mailproc.core.context import Context
from mailproc.store.models import OutboxItem
from mailproc.vocabulary import FilterRule, InboundStatus, Outcome
from mailproc.workflow.batch import BatchState
from mailproc.workflow.dispositions.base import Disposed, Mail

log = logging.getLogger(__name__)


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    verdict = mail.analysis.verdict
    if verdict is None:
        return None
    if verdict.rule == FilterRule.BOUNCE:
        return Disposed(Outcome.BOUNCE, InboundStatus.IGNORED, record_bounce(session, state, mail.parsed, now)[:255])
    return Disposed(Outcome.IGNORED, InboundStatus.IGNORED, f"{verdict.rule}: {verdict.reason}"[:255])


def record_bounce(session: Session, state: BatchState, parsed: ParsedMail, now: datetime) -> str:
    report = parsed.report
    original = report.original_message_id if report else None
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == original)) if original else None
    if item is None:
        return "bounce (no matching outgoing mail)"
    reason = " ".join(filter(None, [report.status if report else None, report.diagnostic if report else None]))
    item.bounced_at, item.bounce_reason = now, (reason or "bounced")[:2000]
    if item.ticket is not None:
        state.event(item.ticket, "notice_bounced", now, outbox_id=item.id, reason=item.bounce_reason)
    log.warning("outbox %s (<%s>) bounced: %s", item.id, original, item.bounce_reason)
    return f"bounce of outbox {item.id}"
