"""Several complaints mailboxes on the real Dovecot and SMTP server: each ticket records the
mailbox it came in on, its notices come from that mailbox's address, and exactly-once holds
per mailbox."""

from __future__ import annotations

import email
import email.policy
import uuid
from pathlib import Path

from sqlalchemy import select

from mailproc.app import App
from mailproc.config import from_mapping
from mailproc.store.migrate import upgrade
from mailproc.store.models import InboundMessage, MailboxState, Ticket
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock
from tests.helpers.mail import complaint, message


def _two_mailboxes(stack: MailStack, database_url: str, tmp_path: Path) -> tuple[App, str, str]:
    main = f"cskh.{uuid.uuid4().hex[:8]}@kplus.example"
    second = f"khieunai.{uuid.uuid4().hex[:8]}@kplus.example"
    data = {"mailboxes": [{"name": "khieunai", "host": stack.host, "port": stack.imap_port, "username": second,
                           "password": stack.password, "timeout": 10.0, "from_address": second,
                           "from_name": "K+ Khiếu nại miền Nam"}]}
    config = from_mapping({
        "imap": {"host": stack.host, "port": stack.imap_port, "username": main, "password": stack.password,
                 "timeout": 10.0},
        "smtp": {"host": stack.host, "port": stack.smtp_port, "from_address": main, "timeout": 10.0},
        "database": {"url": database_url},
        "scheduler": {"lock_file": str(tmp_path / "mailproc.lock")},
        **data,
    }, env={}, source="<test>")
    app = App.build(config, now=Clock())
    upgrade(app.engine)
    return app, main, second


def test_each_mailbox_has_its_tickets_and_answers_from_its_own_address(mailstack: MailStack, database_url: str,
                                                                       tmp_path: Path) -> None:
    app, main, second = _two_mailboxes(mailstack, database_url, tmp_path)
    north = f"bac.{uuid.uuid4().hex[:6]}@example.vn"
    south = f"nam.{uuid.uuid4().hex[:6]}@example.vn"
    mailstack.deliver(complaint(sender=f"Khách Bắc <{north}>", to=main), main)
    mailstack.deliver(complaint(sender=f"Khách Nam <{south}>", to=second, phone="0987654321"), second)

    polled, processed = app.intake_once()
    sent = app.send_once()

    assert (polled.error, polled.stored, processed.created, sent.sent) == (None, 2, 2, 2)
    with app.sessions() as session:
        mailboxes = {t.customer_address: t.mailbox for t in session.scalars(select(Ticket))}
        states = {(s.mailbox, s.folder) for s in session.scalars(select(MailboxState))}
    assert mailboxes == {north: "", south: "khieunai"}
    assert {("", "INBOX"), ("khieunai", "INBOX")} <= states
    [to_north] = mailstack.messages(north)
    [to_south] = mailstack.messages(south)
    north_msg = email.message_from_bytes(to_north, policy=email.policy.default)
    south_msg = email.message_from_bytes(to_south, policy=email.policy.default)
    assert north_msg["From"].addresses[0].addr_spec == main
    assert south_msg["From"].addresses[0].addr_spec == second
    assert south_msg["From"].addresses[0].display_name == "K+ Khiếu nại miền Nam"
    envelope = {rcpts[0]: sender for sender, rcpts, _ in mailstack.smtp_log() if rcpts[0] in (north, south)}
    assert envelope == {north: main, south: second}  # bounces return to the right mailbox

    # The customer's reply to the second mailbox's receipt joins the ticket there.
    ref = str(south_msg["X-Mailproc-Ref"])
    reply = message(sender=south, to=second, subject=f"Re: {south_msg['Subject']}", body="Cảm ơn, vẫn chưa xem được.",
                    headers={"In-Reply-To": str(south_msg["Message-ID"])}).as_bytes()
    mailstack.deliver(reply, second)
    again, joined = app.intake_once()
    app.close()
    assert (again.stored, joined.replies, joined.created) == (1, 1, 0)
    assert ref.startswith("KP-")


def test_the_same_mail_to_both_mailboxes_is_one_ticket(mailstack: MailStack, database_url: str,
                                                       tmp_path: Path) -> None:
    app, main, second = _two_mailboxes(mailstack, database_url, tmp_path)
    raw = complaint(sender="An <an.both@example.vn>", to=f"{main}, {second}")
    mailstack.deliver(raw, main)
    mailstack.deliver(raw, second)

    polled, processed = app.intake_once()
    repeat, _ = app.intake_once()
    with app.sessions() as session:
        rows = list(session.scalars(select(InboundMessage)))
    app.close()

    assert (polled.stored, polled.duplicates, processed.created) == (1, 1, 1)
    assert (repeat.seen, repeat.stored) == (0, 0)
    assert mailstack.messages(main) == [] and mailstack.messages(second) == []  # both moved
    assert len(rows) == 1
