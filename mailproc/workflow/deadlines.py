"""The deadline sweep: acceptance by day 5, the written reply, reminders, breaches, health alerts.

``sweep_once(sessions, ctx, now=clock)`` looks at every open ticket as of ``now`` and does what is due, each
notice under a dedupe key so it goes out exactly once however often the sweep runs, and
whatever it missed while the daemon was down it catches up on the next run:
- on the last day for the acceptance notice (from ``auto_accept_hour``), a ticket Status.L2 has not
  decided is accepted by the system (a level-1 ticket is escalated first);
- a prepared written reply is sent as a formal letter (e-mail + PDF) and the ticket is answered;
- reminders to the ticket's agent and supervisors ``reminder_offsets`` working days before a
  deadline (only the nearest one if several were missed), and a breach alert once a deadline
  has passed;
- supervisors are alerted when the mailbox has not been polled for a while or outgoing mail
  is stuck, and again when it recovers;
- the customer-satisfaction surveys due (:mod:`mailproc.workflow.survey`);
- once a day, the ``[retention]`` purge (:mod:`mailproc.workflow.retention`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.core.context import Context
from mailproc.core.report import StageReport
from mailproc.store.db import transaction
from mailproc.store.models import Alert, MailboxState, OutboxItem, Ticket
from mailproc.vocabulary import Actor, OutboxStatus, Status
from mailproc.workflow.retention import purge_daily
from mailproc.workflow.states import Step
from mailproc.workflow.steps import Sink, notify_agents, notify_customer, queue_agents, run_step
from mailproc.workflow.survey import sweep_surveys

log = logging.getLogger(__name__)
ACTOR = Actor.SCHEDULER


@dataclass
class SweepReport(StageReport):
    stage = "sweep"
    auto_accepted: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    reminders: int = 0
    breaches: int = 0
    alerts: list[str] = field(default_factory=list)
    surveys: int = 0

    def __str__(self) -> str:
        return (f"sweep: auto_accepted={len(self.auto_accepted)} answered={len(self.answered)} "
                f"reminders={self.reminders} breaches={self.breaches} alerts={','.join(self.alerts) or '-'} "
                f"surveys={self.surveys}")


def _local(now: datetime, ctx: Context) -> datetime:
    return now.astimezone(ctx.tz)


def _auto_accept(session: Session, ctx: Context, sink: Sink, ticket: Ticket, now: datetime,
                 report: SweepReport) -> None:
    local = _local(now, ctx)
    due = ticket.accept_due
    if ticket.decided_at is not None or ticket.status not in (Status.L1, Status.L2):
        return
    if local.date() < due or (local.date() == due and local.hour < ctx.config.workflow.auto_accept_hour):
        return
    late = local.date() > due
    if ticket.status == Status.L1:
        run_step(session, ctx, sink, ticket, Step("auto_escalate"), actor=ACTOR, now=now, tag="auto")
    decision = run_step(session, ctx, sink, ticket, Step("auto_accept"), actor=ACTOR, now=now, tag="auto",
                        body="")
    if decision.ok:
        sink.event(ticket, "auto_accept_reason", now, actor=ACTOR,
                   reason=("the acceptance deadline passed while mailproc was not running: sent late"
                           if late else "L2 had not decided by the morning of the last day"))
        report.auto_accepted.append(ticket.ref)


def _send_final(session: Session, ctx: Context, sink: Sink, ticket: Ticket, now: datetime,
                report: SweepReport) -> None:
    if ticket.status != Status.ACCEPTED or not ticket.final_text or ticket.answered_at is not None:
        return
    from mailproc.notices.letters import Letter, letter_pdf, letter_text

    letter = Letter(ref=ticket.ref, customer_name=ticket.name, customer_address=ticket.address,
                    subject=ticket.subject, body=ticket.final_text, city=ctx.config.notices.city,
                    date=_local(now, ctx).date(), department=ctx.config.notices.department,
                    company=ctx.config.notices.company_name, hotline=ctx.config.notices.hotline,
                    received=ticket.received_at.astimezone(ctx.tz).date())
    outcome = notify_customer(session, ctx, sink, ticket, "final_reply", f"final_reply:{ticket.ref}:{ticket.reopened}",
                              now, letter_text=letter_text(letter),
                              attachments=[(f"{ticket.ref}-tra-loi.pdf", "application/pdf", letter_pdf(letter))])
    if outcome in ("queued", "duplicate"):
        run_step(session, ctx, sink, ticket, Step("answered"), actor=ACTOR, now=now, tag=f"final{ticket.reopened}")
        report.answered.append(ticket.ref)


def _deadline_notices(session: Session, ctx: Context, sink: Sink, ticket: Ticket, now: datetime,
                      report: SweepReport) -> None:
    today = _local(now, ctx).date()
    pending: list[tuple[str, date]] = []
    if ticket.decided_at is None and ticket.status in (Status.L1, Status.L2):
        pending.append(("accept", ticket.accept_due))
    if ticket.answered_at is None and ticket.status in (Status.L1, Status.L2, Status.ACCEPTED):
        pending.append(("reply", ticket.reply_due))
    supervisors = ctx.roster.supervisors()
    for which, due in pending:
        if due < today:
            recipients = [*queue_agents(ctx, ticket), *supervisors]
            sent = notify_agents(session, ctx, sink, ticket, recipients, "breach", f"breach:{ticket.ref}:{which}:{due}",
                                 now, deadline=which, due=due)
            if sent:
                report.breaches += 1
                sink.event(ticket, "deadline_breached", now, actor=ACTOR, deadline=which, due=due.isoformat())
            continue
        offsets = [o for o in ctx.config.workflow.reminder_offsets
                   if ctx.calendar.working_days_before(due, o) <= today]
        if not offsets:
            continue
        offset = min(offsets)
        recipients = [*queue_agents(ctx, ticket), *supervisors]
        report.reminders += bool(notify_agents(session, ctx, sink, ticket, recipients, "reminder",
                                               f"reminder:{ticket.ref}:{which}:{due}:{offset}", now, deadline=which,
                                               due=due, days_left=offset))


def _existing_keys(session: Session, tickets: list[Ticket]) -> set[str]:
    if not tickets:
        return set()
    return set(session.scalars(select(OutboxItem.dedupe_key).where(OutboxItem.ticket_id.in_([t.id for t in tickets]))))


def sweep_tickets(sessions: sessionmaker[Session], ctx: Context, now: datetime, report: SweepReport) -> None:
    with transaction(sessions) as session:
        tickets = list(session.scalars(select(Ticket).where(Ticket.status.in_((Status.L1, Status.L2, Status.ACCEPTED)))
                                       .order_by(Ticket.id)))
        sink = Sink(dedupe_keys=_existing_keys(session, tickets))
        for ticket in tickets:
            _auto_accept(session, ctx, sink, ticket, now, report)
            _send_final(session, ctx, sink, ticket, now, report)
            _deadline_notices(session, ctx, sink, ticket, now, report)
        session.flush()
        sink.write(session)


def _set_alert(session: Session, ctx: Context, sink: Sink, key: str, active: bool, detail: str, now: datetime,
               report: SweepReport) -> None:
    alert = session.get(Alert, key) or Alert(key=key, active=False)
    session.add(alert)
    if alert.active == active:
        return
    alert.active, alert.since, alert.detail = active, now, detail
    state = "problem" if active else "recovered"
    context = {"alert": key, "state": state, "detail": detail, "since": now.astimezone(ctx.tz),
               "company": ctx.config.notices.company_name}
    from mailproc.workflow.steps import queue_notice

    for agent in ctx.roster.supervisors():
        queue_notice(ctx, sink, None, kind="alert", to=agent.email, context=context, now=now,
                     dedupe_key=f"alert:{key}:{state}:{now.isoformat()}:{agent.email}")
    report.alerts.append(f"{key}:{state}")
    log.warning("alert %s: %s (%s)", key, state, detail)


def sweep_health(sessions: sessionmaker[Session], ctx: Context, now: datetime, report: SweepReport) -> None:
    wf = ctx.config.workflow
    with transaction(sessions) as session:
        sink = Sink()
        for box in ctx.config.all_mailboxes():
            state = session.get(MailboxState, (box.name, box.folder))
            if state is None:  # nothing to say before the first poll
                continue
            last_ok = state.last_ok_at
            if last_ok is None:  # never polled successfully: a problem once an attempt has failed
                stale = state.failures > 0
            else:
                stale = now - last_ok > timedelta(minutes=wf.mailbox_stale_minutes)
            when = f"{last_ok.astimezone(ctx.tz):%d/%m/%Y %H:%M}" if last_ok else "never"
            where = f"{box.name}/{box.folder}" if box.name else box.folder
            detail = f"mailbox {where} last polled successfully: {when}"
            if state.last_error:
                detail += f"; last error: {state.last_error[:200]}"
            key = f"mailbox_stale:{box.name}" if box.name else "mailbox_stale"
            _set_alert(session, ctx, sink, key, stale, detail, now, report)
        cutoff = now - timedelta(minutes=wf.outbox_stuck_minutes)
        stuck = session.scalar(select(func.count(OutboxItem.id)).where(
            OutboxItem.kind != "alert",
            ((OutboxItem.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.IN_DOUBT)))
             & (OutboxItem.created_at < cutoff))
            | ((OutboxItem.status == OutboxStatus.FAILED) & (OutboxItem.created_at > now - timedelta(days=1)))))
        _set_alert(session, ctx, sink, "outbox_stuck", bool(stuck),
                   f"{stuck} outgoing e-mail(s) failed or waiting longer than {wf.outbox_stuck_minutes} minutes", now,
                   report)
        session.flush()
        sink.write(session)


def sweep_once(sessions: sessionmaker[Session], ctx: Context, *, now: Callable[[], datetime]) -> SweepReport:
    """Everything due as of ``now()``; safe to run any number of times."""
    when = now()
    report = SweepReport()
    sweep_tickets(sessions, ctx, when, report)
    sweep_health(sessions, ctx, when, report)
    report.surveys = sweep_surveys(sessions, ctx, when)
    try:  # once a day; a failure is logged and tried again on the next day, never stops the sweep
        purge_daily(sessions, ctx, when)
    except Exception:
        log.exception("retention purge failed")
    log.info("%s", report)
    return report
