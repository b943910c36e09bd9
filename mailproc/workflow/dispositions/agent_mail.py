"""Disposition 4: mail from an agent in the roster that is authenticated carries out its
commands (or relays its text) on the ticket, or logs a complaint taken elsewhere (``#new``);
unauthenticated mail from an agent's address is recorded and then handled as any other
sender's."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from mailproc.core.context import Context
from mailproc.core.roster import AuthResult, authenticate
from mailproc.vocabulary import InboundStatus, Outcome
from mailproc.workflow.agentmail import handle_agent_mail, log_by_mail
from mailproc.workflow.batch import BatchState
from mailproc.workflow.commands import parse_commands
from mailproc.workflow.dispositions.base import Disposed, Mail
from mailproc.workflow.logged import is_logging

log = logging.getLogger(__name__)


def handle(session: Session, ctx: Context, state: BatchState, mail: Mail, now: datetime) -> Disposed | None:
    parsed = mail.parsed
    agent = ctx.roster.get(parsed.from_address)
    if agent is None:
        return None
    ticket = mail.ticket
    auth = authenticate(parsed.headers, parsed.from_address, ctx.config.auth.trusted_authserv_ids,
                        exchange_online=ctx.config.auth.exchange_online)
    own_check = state.dkim.get(mail.row.id)
    if not auth.ok and own_check is not None:
        auth = own_check if own_check.ok else AuthResult(False, f"{auth.reason}; {own_check.reason}")
    if auth.ok:
        commands = parse_commands(parsed.new_text)
        if is_logging(commands):  # #new: a complaint taken elsewhere, not a reply to a ticket
            note, logged = log_by_mail(session, ctx, state, mail.row, parsed, commands, agent, now)
            return Disposed(Outcome.CREATED if logged else Outcome.AGENT, InboundStatus.PROCESSED, note, logged)
        note = handle_agent_mail(session, ctx, state, ticket, mail.row, parsed, agent, now)
        return Disposed(Outcome.AGENT, InboundStatus.PROCESSED, note, ticket)
    log.warning("mail from agent address %s is not authenticated (%s): treated as any other sender",
                parsed.from_address, auth.reason)
    if ticket is not None:
        state.event(ticket, "unauthenticated_agent_mail", now, sender=parsed.from_address, reason=auth.reason)
    return None
