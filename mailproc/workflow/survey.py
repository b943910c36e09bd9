"""The customer-satisfaction survey (issue 15, item 3): asked once a ticket is answered or
closed, answered by e-mail, kept on the ticket.

- :func:`sweep_surveys` (from the deadline sweep): a ticket answered or closed ``[survey]
  delay_hours`` ago gets one survey (dedupe key per ticket and reopening), unless its customer
  had one in the last ``once_per_days``, is an automatic sender, one of our agents or one of our
  own addresses; it counts against the ``[notices]`` caps like every automatic notice (a survey
  over a cap waits for a later sweep).
- :func:`parse_answer` (pure): a digit 1-5 at the start of the reply, or words ("rất hài lòng",
  "hài lòng", "bình thường", "không hài lòng", "rất không hài lòng"), with or without diacritics.
- :func:`record_answer` (from the customer-reply disposition): only a reply whose In-Reply-To or
  References names our survey's Message-ID counts; the score and the customer's words go on
  the ticket, and a dissatisfied answer (1-2) within ``reopen_days`` of the closing is flagged
  to the supervisors. The answer does not reopen the ticket by itself: the supervisors decide
  (a further reply from the customer reopens it as any reply does).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailproc.analysis.parsing import ParsedMail
from mailproc.core.context import Context
from mailproc.core.people import domain_of, person
from mailproc.core.textnorm import fold
from mailproc.store.db import transaction
from mailproc.store.models import OutboxItem, Ticket
from mailproc.vocabulary import NoticeKind, Status
from mailproc.workflow.batch import BatchState, RecentNotices
from mailproc.workflow.steps import notify_agents, notify_customer
from mailproc.workflow.tickets import over_cap

log = logging.getLogger(__name__)

SURVEYED = (Status.ANSWERED, Status.CLOSED)
CATCH_UP = timedelta(days=7)  # a survey missed while mailproc was down is still sent this long after it was due
DISSATISFIED = 2              # a score at or below this is dissatisfied
COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Answer:
    score: int        # 1 (very dissatisfied) .. 5 (very satisfied)
    comment: str      # the customer's words, as written


_DIGIT = re.compile(r"^\W*([1-5])(?!\d|[.,:]\d)")  # "5", "2 không hài lòng", "4/5"; not "10", "1.5"
# Longest first: "khong hai long" contains "hai long".
_WORDS = (
    (re.compile(r"\brat\s+(?:khong|ko|chua)\s+hai\s+long\b"), 1),
    (re.compile(r"\b(?:khong|ko|chua)\s+(?:duoc\s+)?hai\s+long\b"), 2),
    (re.compile(r"\b(?:binh\s+thuong|tam\s+duoc)\b"), 3),
    (re.compile(r"\brat\s+hai\s+long\b"), 5),
    (re.compile(r"\bhai\s+long\b"), 4),
)


def parse_answer(text: str) -> Answer | None:
    """The score a reply to the survey gives, if it gives one."""
    comment = text.strip()[:COMMENT_CHARS]
    folded = fold(comment)
    digit = _DIGIT.match(folded)
    if digit:
        return Answer(int(digit.group(1)), comment)
    head = folded[:300]
    for pattern, score in _WORDS:
        if pattern.search(head):
            return Answer(score, comment)
    return None


def _automatic(ctx: Context, address: str) -> bool:
    """Our own addresses, our agents, and what the filters call an automated sender."""
    address = address.lower()
    own = {ctx.config.smtp.from_address.lower(), *(box.from_address.lower() for box in ctx.config.mailboxes)}
    robots = {local.lower() for local in ctx.config.filters.robot_localparts}
    return address in own or ctx.roster.get(address) is not None or address.split("@")[0] in robots


def survey_key(ticket: Ticket) -> str:
    return f"survey:{ticket.ref}:{ticket.reopened}"


def sweep_surveys(sessions: sessionmaker[Session], ctx: Context, now: datetime) -> int:
    """Queue the surveys due as of ``now``; returns how many were queued."""
    cfg = ctx.config.survey
    if not cfg.enabled:
        return 0
    due = now - timedelta(hours=cfg.delay_hours)
    with transaction(sessions) as session:
        tickets = list(session.scalars(select(Ticket).where(
            Ticket.status.in_(SURVEYED), Ticket.satisfaction.is_(None), Ticket.closed_at <= due,
            Ticket.closed_at > due - CATCH_UP).order_by(Ticket.closed_at, Ticket.id)))
        if not tickets:
            return 0
        keys = set(session.scalars(select(OutboxItem.dedupe_key).where(
            OutboxItem.dedupe_key.in_([survey_key(t) for t in tickets]))))
        asked = {person(address) for address in session.scalars(select(OutboxItem.to_address).where(
            OutboxItem.kind == NoticeKind.SURVEY, OutboxItem.created_at > now - timedelta(days=cfg.once_per_days)))}
        recent = ctx.caches.setdefault("recent_notices", RecentNotices())
        recent.refresh(session, now)
        state = BatchState(dedupe_keys=keys, recent=recent)
        queued = 0
        for ticket in tickets:
            to = ticket.customer_address
            if survey_key(ticket) in keys or person(to) in asked or _automatic(ctx, to):
                continue
            if over_cap(ctx, state, to, now):  # not now: a later sweep (within CATCH_UP) tries again
                continue
            if notify_customer(session, ctx, state, ticket, NoticeKind.SURVEY, survey_key(ticket), now) != "queued":
                continue
            asked.add(person(to))
            state.recent_auto.setdefault(person(to), []).append(now)
            state.recent_domain.setdefault(domain_of(to), []).append(now)
            state.automatic_last_hour += 1
            queued += 1
            log.info("survey queued for %s", ticket.ref)
        session.flush()
        state.write(session)
    return queued


def answers_survey(session: Session, ticket: Ticket, parsed: ParsedMail) -> bool:
    """Whether the message names one of our surveys about ``ticket`` (In-Reply-To, References)."""
    ids = [*parsed.in_reply_to, *parsed.references]
    if ticket.id is None or not ids:
        return False
    return session.scalar(select(OutboxItem.id).where(
        OutboxItem.ticket_id == ticket.id, OutboxItem.kind == NoticeKind.SURVEY,
        OutboxItem.message_id.in_(ids)).limit(1)) is not None


def record_answer(session: Session, ctx: Context, state: BatchState, ticket: Ticket, parsed: ParsedMail,
                  inbound_id: int, now: datetime) -> bool:
    """Keep a survey answer on the ticket; True when the message was one (nothing else to do)."""
    if not answers_survey(session, ticket, parsed):
        return False
    answer = parse_answer(parsed.new_text)
    if answer is None:
        return False
    ticket.satisfaction, ticket.satisfaction_comment, ticket.satisfaction_at = answer.score, answer.comment, now
    state.event(ticket, "satisfaction", now, score=answer.score, inbound_id=inbound_id)
    window = timedelta(days=ctx.config.survey.reopen_days)
    if answer.score <= DISSATISFIED and ticket.closed_at is not None and now - ticket.closed_at <= window:
        state.event(ticket, "dissatisfaction_flagged", now, score=answer.score)
        notify_agents(session, ctx, state, ticket, ctx.roster.supervisors(), NoticeKind.AGENT_NOTICE,
                      f"agent_notice:{ticket.ref}:dissatisfied:{inbound_id}", now,
                      event="customer_reply_after_close",
                      message=f"Khảo sát mức độ hài lòng: {answer.score}/5 (không hài lòng).\n\n{answer.comment}")
    log.info("satisfaction %d recorded for %s", answer.score, ticket.ref)
    return True
