"""``mailproc corrections export DIR``: the mails agents corrected with ``#set``, as a labelled
set that ``mailproc extract --eval DIR`` scores, so a company measures extraction on its own
mail.

For every ticket with an ``identifier_set`` event, the customer's original mail (the bytes as
fetched) is written as ``REF.eml`` beside ``REF.json``, a label holding the corrected fields
only, each with the agent's last value (the format of :mod:`mailproc.analysis.extract.evaluate`;
``province`` and ``ward`` too when a corrected address names them). Scoring then counts a
correction of a wrong value as the extractor's mismatch, and a value the agent confirmed as a
match. Fields the agent did not touch are left out: their values are extraction's own, and
scoring extraction against itself would only flatter it.

A corrected field is labelled only when the original mail carries it: extraction found a value
for it there, or the agent's value is written in it (its digits for a phone, card or decoder;
its words for a name, an address or an e-mail). A value the customer gave only in a later
reply, or the agent learnt on the telephone, is no miss of the original mail's extraction.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailproc.core.textnorm import fold
from mailproc.store.models import Event, InboundRaw, Ticket, TicketMessage

SET_EVENT = "identifier_set"


@dataclass(frozen=True)
class Exported:
    ref: str
    fields: tuple[str, ...]  # the labelled fields


@dataclass
class ExportReport:
    written: list[Exported] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (ticket ref, why)


def labels_for(corrections: list[dict[str, Any]], found: dict[str, Any] | None, text: str,
               ticket: Ticket) -> dict[str, Any]:
    """The label of the original mail: the corrected fields it carries, each with the agent's
    last value. ``corrections`` are the ``identifier_set`` events' details in order; ``found``
    what extraction gave on the original mail (the ``received`` event's record; None for a
    ticket from before it was kept); ``text`` the original mail's subject and customer text."""
    last = {c["field"]: c["new"] for c in corrections}
    label: dict[str, Any] = {}
    for name, value in last.items():
        if name == "category":  # every mail has one ("other" unless it is about fees)
            if found is not None:
                label[name] = value
        elif (found is not None and found.get(name) is not None) or written_in(name, str(value), text):
            label[name] = value
    if "address" in label:  # the place the agent's address names, when the gazetteer knows it
        label.update({k: v for k, v in (("province", ticket.province), ("ward", ticket.ward)) if v})
    return label


def written_in(name: str, value: str, text: str) -> bool:
    """Whether ``value`` (as ``#set`` stores it) is written in ``text``, however spaced."""
    if name in ("phone", "smartcard"):
        digits = re.sub(r"\D", "", text)
        wanted = re.sub(r"\D", "", value)
        if name == "phone" and value.startswith("+84"):
            wanted = "0" + wanted[2:]
        return len(wanted) >= 6 and (wanted in digits or wanted.lstrip("0") in digits)
    if name == "incident_date":  # "28/10", "28-10-2026", "ngày 28 tháng 10"
        _, month, day = (int(part) for part in value.split("-"))
        return re.search(rf"(?<!\d)0?{day}\s*[/.\-]\s*0?{month}(?!\d)|ngay\s*0?{day}\s*thang\s*0?{month}(?!\d)",
                         fold(text)) is not None
    squeezed = re.sub(r"[\s.\-_]", "", fold(text))
    if name == "decoder":
        return re.sub(r"[\s.\-_]", "", fold(value)) in squeezed
    return " ".join(fold(value).split()) in " ".join(fold(text).split())


def export_corrections(session: Session, folder: Path) -> ExportReport:
    """Write every corrected ticket's original mail and label into ``folder`` (created; files
    of the same ticket replaced; readable by the owner only: they hold customers' data)."""
    report = ExportReport()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    rows = session.execute(select(Event.ticket_id, Event.detail).where(Event.kind == SET_EVENT).order_by(Event.id))
    by_ticket: dict[int, list[dict[str, Any]]] = {}
    for ticket_id, detail in rows:
        by_ticket.setdefault(ticket_id, []).append(detail)
    for ticket_id, corrections in by_ticket.items():
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        received = session.scalar(select(Event).where(Event.ticket_id == ticket_id, Event.kind == "received")
                                  .order_by(Event.id).limit(1))
        inbound_id = received.detail.get("inbound_id") if received is not None else None
        raw = session.get(InboundRaw, inbound_id) if isinstance(inbound_id, int) else None
        if raw is None or not raw.raw or not isinstance(inbound_id, int):
            report.skipped.append((ticket.ref, "the original mail is not stored"))
            continue
        found = received.detail.get("found") if received is not None else None
        record = found if isinstance(found, dict) and "provenance" in found else None
        label = labels_for(corrections, record, _original_text(session, ticket_id, inbound_id), ticket)
        if not label:
            report.skipped.append((ticket.ref, "no corrected field is in the original mail"))
            continue
        _write(folder / f"{ticket.ref}.eml", bytes(raw.raw))
        _write(folder / f"{ticket.ref}.json",
               (json.dumps(label, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
        report.written.append(Exported(ticket.ref, tuple(label)))
    return report


def _original_text(session: Session, ticket_id: int, inbound_id: int) -> str:
    message = session.scalar(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id,
                                                         TicketMessage.inbound_id == inbound_id).limit(1))
    return f"{message.subject}\n{message.body_text}" if message is not None else ""


def _write(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
