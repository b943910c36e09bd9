"""A message over the size limit is never fetched whole: its size is asked first (RFC822.SIZE),
its headers alone are stored, it still gets a ticket and the supervisors are told; fetch
batches are bounded in bytes as well as in count."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailproc.app import App
from mailproc.config import AgentConfig
from mailproc.intake import poll
from mailproc.store.migrate import upgrade
from mailproc.store.models import Event, InboundMessage, InboundRaw, OutboxItem, Ticket
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.mail import complaint

SUP = "sup.pham@kplus.example"


def _big(sender: str, to: str, megabytes: int) -> bytes:
    import base64

    blob = base64.encodebytes(os.urandom(megabytes * 1024 * 1024))
    return (f"From: Khách <{sender}>\r\nTo: {to}\r\nSubject: Hình ảnh lỗi E48\r\n"
            f"Message-ID: <big.{uuid.uuid4().hex}@example.vn>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "Số thẻ 0123 4567 8901, SĐT 0912345678\r\n--b\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + blob + b"\r\n--b--\r\n"


def test_an_oversize_message_is_not_fetched_whole_but_becomes_a_ticket(mailstack: MailStack, database_url: str,
                                                                        tmp_path: Path) -> None:
    box = f"cskh.{uuid.uuid4().hex[:8]}@kplus.example"
    config = make_config(mailstack, box, database_url, tmp_path, parsing={"max_message_bytes": 2 * 1024 * 1024})
    config = dataclasses.replace(config, agents=[AgentConfig(email=SUP, role="supervisor")])
    app = App.build(config, now=Clock())
    upgrade(app.engine)
    customer = f"anh.{uuid.uuid4().hex[:6]}@example.vn"
    mailstack.deliver(_big(customer, box, 5), box)
    mailstack.deliver(complaint(sender=f"An <{customer.replace('anh', 'em')}>", to=box), box)

    polled, processed = app.intake_once()

    with app.sessions() as session:
        rows = list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))
        largest = session.scalar(select(func.max(func.length(InboundRaw.raw))))
        tickets = list(session.scalars(select(Ticket).order_by(Ticket.id)))
        events = [e.kind for e in session.scalars(select(Event))]
        told = [o.to_address for o in session.scalars(select(OutboxItem).where(OutboxItem.kind == "agent_notice"))]
    app.close()
    assert (polled.error, polled.stored, processed.created, processed.quarantined) == (None, 2, 2, 0)
    assert max(r.size for r in rows) > 5 * 1024 * 1024  # its real size, from RFC822.SIZE
    assert largest is not None and largest < 64 * 1024  # but only its headers were fetched and stored
    [big] = [t for t in tickets if t.customer_address == customer]
    assert "oversize" in big.flags
    assert "oversize_not_fetched" in events and SUP in told


def test_fetch_batches_are_bounded_in_bytes(mailstack: MailStack, database_url: str, tmp_path: Path) -> None:
    box = f"cskh.{uuid.uuid4().hex[:8]}@kplus.example"
    config = make_config(mailstack, box, database_url, tmp_path,
                         imap={"batch_size": 100, "batch_bytes": 3 * 1024 * 1024})
    app = App.build(config, now=Clock())
    upgrade(app.engine)
    for i in range(4):
        mailstack.deliver(_big(f"k{i}@example.vn", box, 1), box)  # about 1.4 MB each once encoded
    batches: list[int] = []
    real = poll._store_batch

    def watched(*args: object, **kwargs: object) -> None:
        batches.append(len(args[5].uids))  # type: ignore[attr-defined]
        real(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(poll, "_store_batch", watched)
        report = app.poll_once()
    app.close()
    assert report.stored == 4
    assert batches == [2, 2]  # two of them fit in 3 MB, never four
