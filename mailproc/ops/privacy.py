"""A customer's personal data (Decree 13/2023/NĐ-CP; the Law on Personal Data Protection):
``mailproc customer export`` writes everything held about one person, ``mailproc customer erase``
anonymises it irreversibly.

A person is found by one identifier, as the tickets store it: an e-mail (either the ticket's
``email`` or the address the complaint came from, case-insensitively), a phone (normalised to
E.164 by the extractor's own helper) or a smart-card number (digits only).

Export writes, under ``DIR/<selector kind>-<hash of the value>/`` (no personal data in the
path), ``customer.json`` (every ticket with all its columns, its messages, attachments, events
and the notices about it or sent to the person) and the bytes beside it: each stored mail as
``.eml``, each attachment as a file. Files are 0600, folders 0700.

Erase keeps what statistics need (the ticket, its ref, status, queue, category, province,
dates, deadlines, flags, counts of messages and attachments, the events' kinds and times) and
removes the rest: the identifiers, the message texts and subjects, the stored raw mail, the
attachments' bytes and names, the bodies, raw bytes and attachments of the notices about the
tickets (and of any notice that names one of their refs, such as a digest), the customer's
address on notices, and event details other than dates and vocabulary words. An ``erased``
event records it, with counts only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from mailproc.analysis.extract import phone as extract_phone
from mailproc.config import ExtractConfig
from mailproc.store.models import (
    Base,
    Event,
    InboundMessage,
    InboundRaw,
    OutboxAttachment,
    OutboxItem,
    Ticket,
    TicketMessage,
)
from mailproc.vocabulary import OutboxStatus, Status

KINDS = ("email", "phone", "card")
ERASED = "erased"  # the event kind, and what stands in for a removed value where one is required
# Event details keep only these keys, and only values that cannot be personal data (see _safe).
SAFE_DETAIL_KEYS = frozenset({"deadline", "due", "notice", "old", "new", "queue", "status", "inbound_id",
                              "outbox_id", "field", "priority", "category", "days_left", "step"})
_SAFE_WORD_RE = re.compile(r"[a-z_]{1,32}|L[12]|\d{4}-\d{2}-\d{2}")


class PrivacyError(ValueError):
    """The identifier given cannot name anyone (e.g. not a phone number)."""


@dataclass(frozen=True)
class Selector:
    kind: str   # "email" | "phone" | "card"
    value: str  # normalised: lower-case address, E.164, digits

    def folder_name(self) -> str:
        """A name for the export folder that does not reveal the identifier."""
        return f"{self.kind}-{hashlib.sha256(self.value.encode()).hexdigest()[:16]}"


def selector(kind: str, value: str, config: ExtractConfig) -> Selector:
    """The identifier normalised as the tickets store it."""
    value = value.strip()
    if kind == "email":
        if "@" not in value:
            raise PrivacyError(f"{value!r} is not an e-mail address")
        return Selector(kind, value.lower())
    if kind == "phone":
        hit = extract_phone.classify(value, region=config.region,
                                     company_numbers=frozenset(re.sub(r"\D", "", n) for n in config.company_numbers))
        if hit is None or hit.e164 is None or hit.kind != extract_phone.CUSTOMER:
            raise PrivacyError(f"{value!r} is not a customer's phone number")
        return Selector(kind, hit.e164)
    if kind == "card":
        digits = re.sub(r"\D", "", value)
        if not digits:
            raise PrivacyError(f"{value!r} is not a card number")
        return Selector(kind, digits)
    raise PrivacyError(f"unknown identifier kind {kind!r} (one of: {', '.join(KINDS)})")


def find_tickets(session: Session, who: Selector) -> list[Ticket]:
    if who.kind == "email":
        cond = or_(func.lower(Ticket.email) == who.value, func.lower(Ticket.customer_address) == who.value)
    elif who.kind == "phone":
        cond = Ticket.phone == who.value
    else:
        cond = Ticket.smartcard == who.value
    return list(session.scalars(select(Ticket).where(cond).order_by(Ticket.id)))


def _addresses(who: Selector, tickets: Iterable[Ticket]) -> set[str]:
    """The person's e-mail addresses, lower-case."""
    found = {who.value} if who.kind == "email" else set()
    for ticket in tickets:
        found.update(a.lower() for a in (ticket.email, ticket.customer_address) if a)
    return found


def _inbound_ids(session: Session, ticket_ids: list[int]) -> set[int]:
    linked = session.scalars(select(InboundMessage.id).where(InboundMessage.ticket_id.in_(ticket_ids)))
    filed = session.scalars(select(TicketMessage.inbound_id).where(TicketMessage.ticket_id.in_(ticket_ids),
                                                                   TicketMessage.inbound_id.is_not(None)))
    return {i for i in (*linked, *filed) if i is not None}


def _notices(session: Session, tickets: list[Ticket], addresses: set[str], *,
             naming: bool = False) -> list[OutboxItem]:
    """The notices about the tickets or sent to the person; with ``naming``, also those that name
    one of the refs (a digest, an agent's #list answer: other customers' too, so not exported)."""
    conds: list[ColumnElement[bool]] = [OutboxItem.ticket_id.in_([t.id for t in tickets])]
    if addresses:
        conds.append(func.lower(OutboxItem.to_address).in_(sorted(addresses)))
    for ticket in tickets if naming else ():
        conds += [OutboxItem.body_text.contains(ticket.ref), OutboxItem.subject.contains(ticket.ref),
                  OutboxItem.context.contains(ticket.ref)]
    return list(session.scalars(select(OutboxItem).where(or_(*conds)).order_by(OutboxItem.id)))


# ---- export -------------------------------------------------------------------------------------


@dataclass
class ExportReport:
    folder: Path
    tickets: list[str] = field(default_factory=list)
    files: int = 0


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _columns(row: Base, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {c.key: _plain(getattr(row, c.key)) for c in row.__table__.columns if c.key not in skip}


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\-]", "_", name).strip("._")[:100]
    return cleaned or "file"


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root, self.files = root, 0

    def write(self, relative: str, data: bytes) -> str:
        path = self.root / relative
        _mkdir(path.parent, self.root)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
        self.files += 1
        return relative


def _mkdir(path: Path, root: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:  # mkdir's mode is masked by the umask, and parents get the default
        os.chmod(path, 0o700)
        if path == root or root not in path.parents:
            break
        path = path.parent


def export_person(session: Session, who: Selector, out: Path, *, now: datetime) -> ExportReport:
    """Write everything held about ``who`` under ``out/<who.folder_name()>/``."""
    root = out / who.folder_name()
    _mkdir(root, root)
    writer = _Writer(root)
    tickets = find_tickets(session, who)
    addresses = _addresses(who, tickets)
    data: dict[str, Any] = {"identifier": {"kind": who.kind, "value": who.value}, "exported_at": now.isoformat(),
                            "tickets": [], "notices": []}
    for ticket in tickets:
        data["tickets"].append(_export_ticket(session, ticket, writer))
    for item in _notices(session, tickets, addresses):
        data["notices"].append(_export_notice(item, writer))
    for inbound_id in sorted(_inbound_ids(session, [t.id for t in tickets])):
        raw = session.get(InboundRaw, inbound_id)
        if raw is not None:
            writer.write(f"mail/inbound-{inbound_id}.eml", bytes(raw.raw))
    writer.write("customer.json", (json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n").encode())
    return ExportReport(folder=root, tickets=[t.ref for t in tickets], files=writer.files)


def _export_ticket(session: Session, ticket: Ticket, writer: _Writer) -> dict[str, Any]:
    data = _columns(ticket)
    data["messages"] = []
    for message in ticket.messages:
        entry = _columns(message)
        if message.inbound_id is not None and session.get(InboundRaw, message.inbound_id) is not None:
            entry["raw_file"] = f"mail/inbound-{message.inbound_id}.eml"
        entry["attachments"] = []
        for attachment in message.attachments:
            item = _columns(attachment, skip=("data",))
            if attachment.data is not None:
                name = f"{ticket.ref}/attachments/{attachment.id}-{_safe_name(attachment.filename)}"
                item["file"] = writer.write(name, bytes(attachment.data))
            entry["attachments"].append(item)
        data["messages"].append(entry)
    data["events"] = [_columns(event) for event in ticket.events]
    return data


def _export_notice(item: OutboxItem, writer: _Writer) -> dict[str, Any]:
    entry = _columns(item, skip=("raw",))
    if item.raw:
        entry["raw_file"] = writer.write(f"notices/{item.id}.eml", bytes(item.raw))
    entry["attachments"] = [
        {**_columns(a, skip=("data",)), "file": writer.write(f"notices/{item.id}-{a.id}-{_safe_name(a.filename)}",
                                                             bytes(a.data))}
        for a in item.attachments]
    return entry


# ---- erase --------------------------------------------------------------------------------------


@dataclass
class EraseReport:
    tickets: list[str] = field(default_factory=list)
    messages: int = 0
    attachments: int = 0
    raw_mails: int = 0
    notices: int = 0
    events: int = 0

    def __str__(self) -> str:
        return (f"tickets={len(self.tickets)} ({', '.join(self.tickets) or '-'}) messages={self.messages} "
                f"attachments={self.attachments} raw_mails={self.raw_mails} notices={self.notices} "
                f"events={self.events}")


def _safe(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and (value in set(Status) or _SAFE_WORD_RE.fullmatch(value) is not None)


def _scrub_detail(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (detail or {}).items() if k in SAFE_DETAIL_KEYS and _safe(v)}


def erase_person(session: Session, who: Selector, *, now: datetime, actor: str, dry_run: bool = False) -> EraseReport:
    """Anonymise every ticket of ``who`` (in the caller's transaction; ``dry_run``: count only)."""
    report = EraseReport()
    tickets = find_tickets(session, who)
    if not tickets:
        return report
    addresses = _addresses(who, tickets)
    ticket_ids = [t.id for t in tickets]
    inbound_ids = _inbound_ids(session, ticket_ids)
    notices = _notices(session, tickets, addresses, naming=True)
    report.tickets = [t.ref for t in tickets]
    report.raw_mails = len(list(session.scalars(select(InboundRaw.id).where(InboundRaw.id.in_(inbound_ids)))))
    report.notices = len(notices)
    for ticket in tickets:
        report.messages += len(ticket.messages)
        report.attachments += sum(len(m.attachments) for m in ticket.messages)
        report.events += len(ticket.events)
    if dry_run:
        return report
    for ticket in tickets:
        _erase_ticket(ticket, addresses)
    for inbound in session.scalars(select(InboundMessage).where(InboundMessage.id.in_(inbound_ids))):
        inbound.error = None
    for raw in session.scalars(select(InboundRaw).where(InboundRaw.id.in_(inbound_ids))):
        session.delete(raw)
    for item in notices:
        _erase_notice(session, item, addresses)
    session.flush()
    for ticket in tickets:
        session.add(Event(ticket_id=ticket.id, at=now, actor=actor, kind=ERASED,
                          detail={"messages": len(ticket.messages),
                                  "attachments": sum(len(m.attachments) for m in ticket.messages)}))
    return report


def _erase_ticket(ticket: Ticket, addresses: set[str]) -> None:
    ticket.name = ticket.address = ticket.phone = ticket.email = ticket.smartcard = ticket.decoder = None
    ticket.customer_address = ERASED
    ticket.subject = ""
    ticket.ward, ticket.ward_code = None, None  # the province stays, for statistics
    ticket.decision_reason = ticket.final_text = None
    ticket.satisfaction_comment = None  # the customer's own words; the score stays, for statistics
    for message in ticket.messages:
        message.subject = message.body_text = message.quoted_text = ""
        if message.from_address.lower() in addresses:
            message.from_address = ""
        for attachment in message.attachments:
            attachment.data, attachment.filename, attachment.sha256 = None, ERASED, ""
            attachment.note = ERASED
    for event in ticket.events:
        event.detail = _scrub_detail(event.detail)
        if event.actor.lower() in addresses:
            event.actor = ERASED


def _erase_notice(session: Session, item: OutboxItem, addresses: set[str]) -> None:
    item.subject, item.body_text, item.body_html, item.context, item.raw = "", "", "", None, None
    item.last_error = item.bounce_reason = None
    if item.status in (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.IN_DOUBT):  # never sent now
        item.status, item.last_error = OutboxStatus.FAILED, ERASED
    if item.to_address.lower() in addresses:
        item.to_address = ERASED
    for attachment in session.scalars(select(OutboxAttachment).where(OutboxAttachment.outbox_id == item.id)):
        session.delete(attachment)
