"""An agent logs a complaint taken at another contact point by mailing the shared mailbox (``#new``).

Two shapes, both from an authenticated agent (:mod:`mailproc.workflow.dispositions.agent_mail`):

- a customer's e-mail forwarded with ``#new`` on top, inline (the client's "Forwarded message"
  block with its ``From:``/``Date:``/``Subject:`` lines) or attached as ``message/rfc822``
  (parsed as any inbound mail): the ticket is the customer's — their address, the mail's date,
  its text and, when attached, its attachments;
- a complaint taken by phone or at a store: ``#new``, then label lines (``SĐT: …``, ``Số thẻ: …``,
  ``Email: …``) and the customer's words, read by the same extraction as a mail.

``#received DD/MM/YYYY [HH:MM]`` says when it was received (the deadlines count from then, in the
company's time zone), ``#channel hotline|store|…`` where. The ticket is made as a bulk-imported
one is (:func:`mailproc.workflow.bulk_import.create_contact_ticket`: assessed, routed, caps and
events as for mail), the ``logged`` event names the agent. The receipt goes to the customer when
an address is known, else to the agent as a PDF letter to print or hand over; missing required
identifiers are asked of the agent (who completes them with ``#set`` in a reply), not of the
customer.

:func:`read_logged` is pure (the mail's values in, a :class:`Logged` or the reasons out);
:func:`create_logged` writes.
"""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailproc.analysis.extract.fields import Extracted, extract
from mailproc.analysis.extract.shapes import EMAIL_RE
from mailproc.analysis.parsing import AttachmentInfo, ParsedMail, parse_message
from mailproc.analysis.pool import local_date
from mailproc.analysis.threads import clean_subject
from mailproc.config import Config
from mailproc.core.context import Context
from mailproc.core.roster import Agent
from mailproc.core.textnorm import fold
from mailproc.store.models import InboundRaw, Ticket
from mailproc.vocabulary import NoticeKind
from mailproc.workflow.batch import BatchState
from mailproc.workflow.bulk_import import contact_mail, create_contact_ticket
from mailproc.workflow.commands import ParsedCommands, spellings
from mailproc.workflow.importer import CHANNEL_RE, local_time
from mailproc.workflow.steps import InboundRow, agent_context, queue_notice
from mailproc.workflow.tickets import queue_customer_notice

LOGGING_COMMANDS = frozenset({"new", "received", "channel"})
FORWARDED = "email-forwarded"  # the channel of a forwarded customer's mail
TYPED = "agent"                # of a complaint typed by an agent without #channel
TEXT_MAX = 20_000
# The header lines of an inline forward, as the mail clients write them in English and Vietnamese.
_HEADER_NAMES = {
    "from": "from", "tu": "from", "nguoigui": "from",
    "date": "date", "sent": "date", "ngay": "date", "dagui": "date", "thoigian": "date",
    "subject": "subject", "tieude": "subject", "chude": "subject",
    "to": "to", "den": "to", "toi": "to", "cc": "to", "nguoinhan": "to",
}
_HEADER_RE = re.compile(r"\s*\*?(?P<name>[^\W\d_][\w \-]{0,20}?)\*?\s*:\s*(?P<value>.*)")
_MARKER_RE = re.compile(r"\s*(?:-{2,}.*|begin forwarded message\s*:?|bat dau thu chuyen tiep\s*:?)\s*", re.IGNORECASE)
_SIGNATURE_RE = re.compile(r"^-- ?$", re.MULTILINE)
_CLIENT_DATES = ("%a, %b %d, %Y at %I:%M %p", "%a, %b %d, %Y at %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y",
                 "%A, %B %d, %Y %I:%M %p", "%A, %d %B %Y %H:%M")


@dataclass(frozen=True)
class Logged:
    """A complaint an agent logged, read from their mail."""

    source: str                  # "forward-attached", "forward-inline" or "typed"
    channel: str
    received_at: datetime        # aware
    subject: str
    text: str                    # the customer's words
    found: Extracted             # the customer's identifiers
    message_id: str | None = None  # the forwarded mail's own, to thread the receipt under
    attachments: tuple[AttachmentInfo, ...] = ()


def is_logging(commands: ParsedCommands) -> bool:
    """True when the mail logs a complaint (it has ``#new``)."""
    return any(c.known and c.name == "new" for c in commands.commands)


def read_logged(parsed: ParsedMail, commands: ParsedCommands, attached: ParsedMail | None, *, config: Config,
                tz: ZoneInfo, now: datetime) -> Logged | list[str]:
    """The complaint of an agent's ``#new`` mail, or every reason it cannot be logged.

    ``attached`` is the customer's mail when the agent attached it (``message/rfc822``)."""
    reasons = [f"#{c.name}: unknown command" for c in commands.commands if not c.known]
    reasons += [f"{c.line.strip()}: with #new only #received and #channel may stand; send ticket commands "
                "in a reply to the ticket's e-mail" for c in commands.commands if c.known and c.name not in
                LOGGING_COMMANDS]
    args = {c.name: c.arg for c in commands.commands if c.known}
    received: datetime | None = None
    if args.get("received"):
        received = local_time(args["received"], tz)
        if received is None:
            reasons.append(f"#received {args['received']}: write the day as DD/MM/YYYY, with HH:MM if known")
        elif received > now:
            reasons.append(f"#received {args['received']}: in the future")
    channel = args.get("channel", "").strip().lower()
    if "channel" in args and not CHANNEL_RE.fullmatch(channel):
        reasons.append(f"#channel {args['channel']}: one word of letters, digits, '-' or '_' (hotline, store, …)")
    if attached is not None:
        source, sender, name = "forward-attached", attached.from_address, attached.from_name
        sent, subject, text, message_id = attached.date, attached.subject, attached.customer_text, attached.message_id
    elif parsed.forwarded_text:
        source, message_id = "forward-inline", None
        headers, text = _forward_block(parsed.forwarded_text)
        name, sender = parseaddr(headers.get("from", ""))
        sender = sender if EMAIL_RE.fullmatch(sender) else None
        sent, subject = _client_date(headers.get("date", ""), tz), headers.get("subject", "")
    else:
        source, sender, name, sent, subject, message_id = "typed", None, None, None, "", None
        text = _SIGNATURE_RE.split(commands.body, maxsplit=1)[0]  # not the agent's own phone number
    if not text.strip():
        reasons.append("#new: no complaint text: forward the customer's mail under #new, or write their words "
                       "after the command lines")
    if len(text) > TEXT_MAX:
        reasons.append(f"#new: the complaint is longer than {TEXT_MAX} characters")
    if reasons:
        return reasons
    if received is None:
        received = sent if sent is not None and sent <= now else now
    found = extract(text, subject=subject, sender_address=sender, sender_name=name or None, config=config.extract,
                    mail_date=local_date(received, tz))
    if sender and not found.email:
        found = dataclasses.replace(found, email=sender.lower())
    subject = clean_subject(config.notices.ref_prefix, subject) or f"Khiếu nại tiếp nhận qua {channel or TYPED}"
    return Logged(source=source, channel=channel or (FORWARDED if source != "typed" else TYPED), received_at=received,
                  subject=subject, text=text.strip(), found=found, message_id=message_id,
                  attachments=attached.attachments if attached is not None else ())


def attached_mail(raw: bytes, config: Config) -> ParsedMail | None:
    """The first ``message/rfc822`` part of ``raw``, parsed as any inbound mail, if there is one."""
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, email.message.Message):
                return parse_message(inner.as_bytes(), config.parsing)
    return None


def _forward_block(forwarded: str) -> tuple[dict[str, str], str]:
    """The header lines at the top of an inline forward (``from``, ``date``, ``subject``, ``to``)
    and the forwarded text after them."""
    lines = forwarded.split("\n")
    index = 0
    while index < len(lines) and (not lines[index].strip() or _MARKER_RE.fullmatch(fold(lines[index]))):
        index += 1
    headers: dict[str, str] = {}
    while index < len(lines):
        match = _HEADER_RE.fullmatch(lines[index])
        key = _HEADER_NAMES.get(fold(match["name"]).replace(" ", "").replace("-", "")) if match else None
        if match is None or key is None:
            break
        headers.setdefault(key, match["value"].strip())
        index += 1
    return headers, "\n".join(lines[index:]).strip()


def _client_date(value: str, tz: ZoneInfo) -> datetime | None:
    """The ``Date:`` of an inline forward, as the clients write it (RFC 5322 or their own)."""
    value = " ".join(value.replace("\u202f", " ").split())
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        when = None
    if when is not None:
        return when if when.tzinfo else when.replace(tzinfo=tz)
    for fmt in _CLIENT_DATES:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz)
        except ValueError:
            pass
    return None


def log_complaint(session: Session, ctx: Context, state: BatchState, row: InboundRow, parsed: ParsedMail,
                  commands: ParsedCommands, agent: Agent, now: datetime) -> Ticket | list[str]:
    """Read the agent's ``#new`` mail (its attached mail from the stored bytes) and, when it
    can be logged, create the ticket; returns the ticket or the reasons it was not logged."""
    stored = session.get(InboundRaw, row.id)
    attached = attached_mail(stored.raw, ctx.config) if stored is not None else None
    logged = read_logged(parsed, commands, attached, config=ctx.config, tz=ctx.tz, now=now)
    if isinstance(logged, list):
        return logged
    return create_logged(session, ctx, state, row, parsed, logged, agent, now)


def create_logged(session: Session, ctx: Context, state: BatchState, row: InboundRow, parsed: ParsedMail,
                  logged: Logged, agent: Agent, now: datetime) -> Ticket:
    """The logged complaint as a ticket; the receipt to the customer's e-mail, else as a PDF to
    the agent; what is missing asked of the agent."""
    found = logged.found
    ticket = create_contact_ticket(
        session, ctx, state, found=found, text=logged.text, received_at=logged.received_at, channel=logged.channel,
        subject=logged.subject, now=now, actor=agent.email, inbound_id=row.id, message_id=logged.message_id,
        files=logged.attachments,
        event=("logged", {"agent": agent.email, "source": logged.source, "channel": logged.channel,
                          "inbound_id": row.id, "found": found.record()}))
    if logged.message_id:
        state.by_message_id[logged.message_id] = ticket
    thread: dict[str, Any] = {"in_reply_to": parsed.message_id,
                              "references": [parsed.message_id] if parsed.message_id else []}
    context = {**agent_context(ctx, ticket, logged.text), "agent": agent, "event": "logged"}
    if ticket.missing:
        state.event(ticket, "notice_skipped", now, notice=NoticeKind.NEED_INFO,
                    reason="logged by an agent: the agent completes the identifiers")
        message = ("Khiếu nại đã được ghi nhận nhưng còn thiếu / logged, but missing: "
                   f"{', '.join(ticket.missing)}.\nTrả lời thư này với / reply to this mail with "
                   f"{spellings('set')} FIELD VALUE (one line each).")
        queue_notice(ctx, state, ticket, kind=NoticeKind.AGENT_NOTICE, to=agent.email, now=now,
                     dedupe_key=f"agent_notice:{ticket.ref}:logged_missing", context={**context, "message": message},
                     **thread)
    elif found.email:
        mail = contact_mail(found.email, found.name, logged.received_at, logged.text, logged.message_id)
        queue_customer_notice(ctx, state, ticket, mail, NoticeKind.RECEIPT, f"receipt:{ticket.ref}", now)
    else:
        receipt_to_agent(ctx, state, ticket, agent, logged.text, now, **thread)
    return ticket


def receipt_to_agent(ctx: Context, state: BatchState, ticket: Ticket, agent: Agent, text: str, now: datetime,
                     **thread: Any) -> str:
    """The receipt of a customer without e-mail, as a PDF to ``agent`` to print or hand over."""
    message = ("Khách hàng không có e-mail: biên nhận đính kèm (PDF) để in hoặc giao cho khách hàng.\n"
               "No customer e-mail: the receipt is attached (PDF) to print or hand over.")
    context = {**agent_context(ctx, ticket, text), "agent": agent, "event": "logged", "message": message}
    return queue_notice(ctx, state, ticket, kind=NoticeKind.AGENT_NOTICE, to=agent.email, now=now,
                        dedupe_key=f"agent_notice:{ticket.ref}:logged_receipt", context=context,
                        attachments=[(f"{ticket.ref}-bien-nhan.pdf", "application/pdf",
                                      receipt_pdf(ctx, ticket, now))], **thread)


def receipt_pdf(ctx: Context, ticket: Ticket, now: datetime) -> bytes:
    """The receipt as a letter (:mod:`mailproc.notices.letters`) for a customer without e-mail."""
    from mailproc.notices.letters import Letter, letter_pdf

    received = ticket.received_at.astimezone(ctx.tz)
    body = (f"K+ đã tiếp nhận khiếu nại của Quý khách lúc {received:%H:%M} ngày {received:%d/%m/%Y}, "
            f"mã số khiếu nại {ticket.ref}.\n\n"
            f"K+ sẽ trả lời Quý khách chậm nhất ngày {ticket.reply_due:%d/%m/%Y}. Khi liên hệ với K+, "
            f"xin Quý khách cho biết mã số khiếu nại {ticket.ref}.")
    cfg = ctx.config.notices
    letter = Letter(ref=ticket.ref, customer_name=ticket.name, customer_address=ticket.address,
                    subject=ticket.subject, body=body, city=cfg.city, date=now.astimezone(ctx.tz).date(),
                    department=cfg.department, company=cfg.company_name, hotline=cfg.hotline,
                    received=received.date())
    return letter_pdf(letter)
