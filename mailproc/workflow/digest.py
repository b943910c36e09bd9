"""The supervisors' daily digest as a job: read the tickets, build, render, print or queue it.

The numbers come from :mod:`mailproc.notices.digest` (pure); this module only reads rows and, with
``send``, queues one digest per day per supervisor (a dedupe key per date makes it exactly
once, however often the job or its catch-up runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.core.context import Context
from mailproc.core.report import StageReport
from mailproc.notices.digest import Digest, DigestTicket, build_digest, csv_filename, digest_context, digest_csv
from mailproc.notices.render import render
from mailproc.store.db import transaction
from mailproc.store.models import OutboxItem, Ticket
from mailproc.workflow.steps import Sink, queue_notice


@dataclass
class DigestRun(StageReport):
    stage = "digest"
    digest: Digest
    text: str
    queued: int

    def __str__(self) -> str:
        return f"digest {self.digest.day.isoformat()}: queued={self.queued}"


def digest_tickets(sessions: sessionmaker[Session]) -> list[DigestTicket]:
    with sessions() as session:
        return [DigestTicket(ref=t.ref, status=t.status, queue=t.queue, assignee=t.assignee, name=t.name,
                             received_at=t.received_at, closed_at=t.closed_at, accept_due=t.accept_due,
                             reply_due=t.reply_due, accepted=t.decided_at is not None,
                             answered=t.answered_at is not None, satisfaction=t.satisfaction,
                             satisfaction_at=t.satisfaction_at)
                for t in session.scalars(select(Ticket).order_by(Ticket.id))]


def digest_once(sessions: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime],
                send: bool = False) -> DigestRun:
    """The digest as of ``now()``; with ``send``, queued once per day to each supervisor."""
    when = now()
    digest = build_digest(digest_tickets(sessions), now=when, tz=ctx.tz,
                          working_days_after=ctx.calendar.add_working_days)
    context = {**digest_context(digest), "company": ctx.config.notices.company_name,
               "department": ctx.config.notices.department}
    rendered = render(ctx.env, "digest", context)
    queued = 0
    if send:
        attachment = (csv_filename(digest), "text/csv", digest_csv(digest))
        with transaction(sessions) as session:
            sink = Sink()
            for agent in ctx.roster.supervisors():
                queued += queue_notice(ctx, sink, None, kind="digest", to=agent.email, context=context, now=when,
                                       dedupe_key=f"digest:{digest.day.isoformat()}:{agent.email}",
                                       attachments=[attachment]) == "queued"
            existing = _existing(session, sink)
            sink.outbox = [entry for entry in sink.outbox if entry[1]["dedupe_key"] not in existing]
            queued = len(sink.outbox)
            sink.write(session)
    return DigestRun(digest=digest, text=rendered.text, queued=queued)


def _existing(session: Session, sink: Sink) -> set[str]:
    keys = [row["dedupe_key"] for _, row, _ in sink.outbox]
    if not keys:
        return set()
    return set(session.scalars(select(OutboxItem.dedupe_key).where(OutboxItem.dedupe_key.in_(keys))))
