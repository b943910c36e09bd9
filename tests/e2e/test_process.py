"""From mailbox to ticket to the customer's mailbox, on the real Dovecot and SMTP server."""

from __future__ import annotations

import email
import email.policy
import uuid
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from mailproc.app import App
from mailproc.store.migrate import upgrade
from mailproc.store.models import Event, InboundMessage, InboundRaw, OutboxItem, Ticket, TicketMessage
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.mail import complaint, message, new_id


@pytest.fixture
def customer() -> str:
    """A fresh customer mailbox per test (the mail stack is shared by the whole session)."""
    return f"khach.{uuid.uuid4().hex[:8]}@gmail.com"

pytestmark = pytest.mark.e2e


def _run(app: App) -> None:
    app.poll_once()
    app.process_once()
    app.send_once()


def _inbox(stack: MailStack, user: str) -> list[EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for raw in stack.messages(user)]


def _tickets(app: App) -> list[Ticket]:
    with app.sessions() as s:
        return list(s.scalars(select(Ticket).order_by(Ticket.id)))


def _events(app: App, ticket_id: int) -> list[str]:
    with app.sessions() as s:
        return list(s.scalars(select(Event.kind).where(Event.ticket_id == ticket_id).order_by(Event.id)))


def _outbox(app: App) -> list[OutboxItem]:
    with app.sessions() as s:
        return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def test_complete_complaint_becomes_l1_ticket_and_receipt_arrives(app: App, mailstack: MailStack,
                                                                  shared_mailbox: str, customer: str) -> None:
    raw = complaint(sender=f"Nguyễn Văn An <{customer}>", to=shared_mailbox)
    mailstack.deliver(raw, shared_mailbox)

    _run(app)

    (ticket,) = _tickets(app)
    assert ticket.ref == "KP-2026-000001"
    assert (ticket.status, ticket.queue) == ("l1", "L1")
    assert (ticket.phone, ticket.smartcard, ticket.name) == ("+84912345678", "012345678901", "Nguyễn Văn An")
    assert ticket.incident_date == date(2026, 10, 28)
    # Received Mon 02/11/2026 (clock): 5 and 20 working days, the day itself not counted.
    assert ticket.accept_due == date(2026, 11, 9)
    # 3-6, 9-13, 16-20, 23, 25-27, 30 Nov = 19 days (24/11 is Culture Day, from 2026); 01/12 is the 20th.
    assert ticket.reply_due == date(2026, 12, 1)
    assert _events(app, ticket.id) == ["received", "assessed", "routed", "notice_queued"]
    (receipt,) = _inbox(mailstack, customer)
    original = email.message_from_bytes(raw, policy=email.policy.default)
    assert receipt["Subject"].startswith("[KP-2026-000001] V/v Tiếp nhận khiếu nại")
    assert receipt["Auto-Submitted"] == "auto-replied"
    assert receipt["In-Reply-To"] == original["Message-ID"]
    assert receipt["From"].addresses[0].addr_spec == shared_mailbox
    text = receipt.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "09/11/2026" in text and "01/12/2026" in text and "02/11/2026" in text
    assert "012345678901" not in text and "8901" in text  # the card is masked
    html = receipt.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "KP-2026-000001" in html
    (item,) = _outbox(app)
    assert (item.kind, item.status, item.attempts) == ("receipt", "sent", 1)


def test_missing_information_is_requested_and_a_reply_completes_it(app: App, mailstack: MailStack,
                                                                   shared_mailbox: str, clock: Clock,
                                                                   customer: str) -> None:
    first = complaint(sender=f"Trần Thị Bình <{customer}>", to=shared_mailbox,
                      body="Tôi bị mất kênh K+ Sport 1 từ hôm 30/10/2026. Số điện thoại 0987 654 321.")
    mailstack.deliver(first, shared_mailbox)
    _run(app)
    (ticket,) = _tickets(app)
    assert (ticket.status, ticket.queue, ticket.missing) == ("assessing", None, ["card_or_decoder"])
    (request,) = _inbox(mailstack, customer)
    assert "V/v Đề nghị bổ sung thông tin" in request["Subject"]
    assert "Số thẻ giải mã hoặc số đầu thu" in request.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    clock.advance(hours=3)
    reply = message(sender=customer, to=shared_mailbox, subject=f"Trả lời: {request['Subject']}",
                    body="Số thẻ giải mã của tôi là 8401 2345 6789\n\n> Kính gửi Quý khách ...",
                    headers={"In-Reply-To": request["Message-ID"]}).as_bytes()
    mailstack.deliver(reply, shared_mailbox)
    _run(app)

    (ticket,) = _tickets(app)
    assert (ticket.status, ticket.queue, ticket.missing) == ("l1", "L1", [])
    assert ticket.smartcard == "840123456789"
    assert "missing_info" not in ticket.flags
    kinds = [(o.kind, o.status) for o in _outbox(app)]
    assert kinds == [("need_info", "sent"), ("receipt", "sent")]
    assert "info_complete" in _events(app, ticket.id)
    assert len(_inbox(mailstack, customer)) == 2


def test_a_follow_up_processed_with_its_complaint_completes_the_new_ticket(app: App, mailstack: MailStack,
                                                                          shared_mailbox: str, customer: str) -> None:
    """Both in one batch: the ticket is created, then changed by the follow-up, before it is
    stored; what is stored is the changed ticket, once, with both messages on it."""
    first_id = new_id()
    mailstack.deliver(complaint(sender=customer, to=shared_mailbox, message_id=first_id,
                                body="Tôi bị mất kênh K+ Sport 1 từ hôm 30/10/2026. Số điện thoại 0987 654 321."),
                      shared_mailbox)
    mailstack.deliver(message(sender=customer, to=shared_mailbox, subject="Re: Mất sóng K+ từ 3 ngày nay",
                              body="Tôi bổ sung: số thẻ giải mã 8401 2345 6789", message_id=new_id(),
                              headers={"In-Reply-To": first_id}).as_bytes(), shared_mailbox)
    _run(app)

    (ticket,) = _tickets(app)
    assert (ticket.status, ticket.queue, ticket.missing, ticket.smartcard) == ("l1", "L1", [], "840123456789")
    assert ticket.phone == "+84987654321" and ticket.reopened == 0 and ticket.priority == "normal"
    events = _events(app, ticket.id)
    assert events.index("received") < events.index("customer_reply") < events.index("info_complete")
    with app.sessions() as s:
        assert [r.ticket_id for r in s.scalars(select(InboundMessage).order_by(InboundMessage.id))] == [ticket.id] * 2
        assert len(list(s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)))) == 2
    assert [o.kind for o in _outbox(app)] == ["need_info", "receipt"]


def test_reply_joins_by_in_reply_to_without_tag_and_forward_by_tag(app: App, mailstack: MailStack,
                                                                    shared_mailbox: str, customer: str) -> None:
    mailstack.deliver(complaint(to=shared_mailbox, sender=customer), shared_mailbox)
    _run(app)
    (receipt,) = _inbox(mailstack, customer)
    untagged = message(sender=customer, to=shared_mailbox, subject="RE: phiếu tiếp nhận",
                       body="Cảm ơn, tôi chờ phản hồi.", headers={"References": receipt["Message-ID"]})
    # A forward that lost every threading header still carries the tag in its subject.
    forwarded = message(sender="em.gai@gmail.com", to=shared_mailbox,
                        subject="Chuyển tiếp: [KP-2026-000001] V/v Tiếp nhận khiếu nại",
                        body="Em gửi thêm thông tin giúp anh An.")
    for msg in (untagged, forwarded):
        mailstack.deliver(msg.as_bytes(), shared_mailbox)

    _run(app)

    (ticket,) = _tickets(app)
    with app.sessions() as s:
        count = len(s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)).all())
    assert count == 3
    events = _events(app, ticket.id)
    assert "customer_reply" in events and "message_from_other_sender" in events
    assert len(_outbox(app)) == 1  # replies to an open L1 ticket get no automatic mail


@pytest.mark.parametrize("headers,subject,sender", [
    ({"Auto-Submitted": "auto-replied"}, "Re: [KP-2026-000009] ...", "an.nguyen@gmail.com"),
    ({"Precedence": "bulk"}, "Khuyến mãi tháng 11", "promo@shop.example"),
    ({"X-Autoreply": "yes"}, "Mất sóng", "an.nguyen@gmail.com"),
    ({"X-Auto-Response-Suppress": "All"}, "Mất sóng", "an.nguyen@gmail.com"),
    ({"List-Id": "<tin.kplus.example>"}, "Bản tin", "news@kplus-fans.example"),
    ({}, "Trả lời tự động: Tôi đang nghỉ phép", "an.nguyen@gmail.com"),
    ({}, "Automatic reply: Mất sóng", "an.nguyen@gmail.com"),
    ({}, "Mất sóng", "no-reply@bank.example"),
    ({}, "Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.example"),
])
def test_automatic_mail_never_creates_a_ticket_or_gets_a_reply(app: App, mailstack: MailStack, shared_mailbox: str,
                                                                headers: dict[str, str], subject: str,
                                                                sender: str) -> None:
    msg = message(sender=sender, to=shared_mailbox, subject=subject,
                  body="Số thẻ 0123 4567 8901, SĐT 0912345678", headers=headers)
    mailstack.deliver(msg.as_bytes(), shared_mailbox)

    _run(app)

    assert _tickets(app) == [] and _outbox(app) == []
    with app.sessions() as s:
        (row,) = s.scalars(select(InboundMessage)).all()
        assert row.status == "ignored" and row.outcome


def test_bounce_is_recorded_against_the_outgoing_mail(app: App, mailstack: MailStack, shared_mailbox: str) -> None:
    mailstack.deliver(complaint(to=shared_mailbox, sender="khach <khong.ton.tai@example.vn>"), shared_mailbox)
    _run(app)
    (item,) = _outbox(app)
    dsn = _dsn(shared_mailbox, item.message_id, "khong.ton.tai@example.vn")
    mailstack.deliver(dsn, shared_mailbox)

    _run(app)

    (item,) = _outbox(app)
    assert item.bounced_at is not None and "5.1.1" in (item.bounce_reason or "")
    (ticket,) = _tickets(app)
    assert "notice_bounced" in _events(app, ticket.id)
    with app.sessions() as s:
        rows = s.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert rows[-1].status == "ignored" and f"outbox {item.id}" in (rows[-1].outcome or "")


def _dsn(to: str, original_id: str, rcpt: str) -> bytes:
    boundary = "dsn-boundary-1"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.vn>\r\nTo: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {new_id('mx.example.vn')}\r\n"
        "Date: Mon, 02 Nov 2026 10:00:00 +0700\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.vn\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        f"\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original_id}>\r\nSubject: receipt\r\n\r\n--{boundary}--\r\n"
    ).encode()


def test_a_flooding_sender_gets_at_most_the_hourly_cap_of_receipts(mailstack: MailStack, shared_mailbox: str,
                                                                   database_url: str, tmp_path: Path,
                                                                   clock: Clock) -> None:
    app = App.build(make_config(mailstack, shared_mailbox, database_url, tmp_path,
                                notices={"max_per_sender_per_hour": 3}), now=clock)
    upgrade(app.engine)
    customer = f"flood.{uuid.uuid4().hex[:8]}@example.vn"
    for i in range(5):
        mailstack.deliver(complaint(sender=customer, to=shared_mailbox, phone=f"09123456{i:02d}"), shared_mailbox)

    _run(app)

    tickets = _tickets(app)
    assert len(tickets) == 5  # every complaint is still a ticket
    assert len(_outbox(app)) == 3
    assert sum("rate_limited" in t.flags for t in tickets) == 2
    clock.advance(hours=1, minutes=1)
    mailstack.deliver(complaint(sender=customer, to=shared_mailbox, phone="0912000111"), shared_mailbox)
    _run(app)
    assert len(_outbox(app)) == 4
    app.close()


def test_bad_message_is_quarantined_and_the_rest_go_on(mailstack: MailStack, shared_mailbox: str,
                                                       database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = App.build(make_config(mailstack, shared_mailbox, database_url, tmp_path,
                                parsing={"max_message_bytes": 20_000}), now=clock)
    upgrade(app.engine)
    huge = complaint(to=shared_mailbox, body="Mất sóng. " + "x" * 30_000)
    nested = _nested(60)
    for raw in (complaint(to=shared_mailbox), huge, nested, complaint(to=shared_mailbox, phone="0987000111")):
        mailstack.deliver(raw, shared_mailbox)

    _run(app)

    # The one over max_message_bytes is not fetched whole: its headers make a ticket (flagged).
    assert sorted("oversize" in t.flags for t in _tickets(app)) == [False, False, True]
    with app.sessions() as s:
        rows = s.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        statuses = {r.size > 20_000: r.status for r in rows if r.status != "quarantined"}
        assert statuses == {True: "processed", False: "processed"}
        [nested_row] = [r for r in rows if r.status == "quarantined"]
        assert "nesting" in (nested_row.error or "").lower() or "boundar" in (nested_row.error or "").lower()
        big = [r for r in rows if r.size > 20_000]
        assert len(big) == 1 and len(s.get(InboundRaw, big[0].id).raw) < 5_000  # type: ignore[union-attr]
    app.close()


def _nested(depth: int) -> bytes:
    head = "From: x@example.vn\r\nTo: cskh@kplus.example\r\nSubject: nested\r\nMessage-ID: <n1@example.vn>\r\n"
    parts = ""
    for i in range(depth):
        parts += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'
    parts += "Content-Type: text/plain\r\n\r\nhello\r\n"
    for i in reversed(range(depth)):
        parts += f"--b{i}--\r\n"
    return (head + "MIME-Version: 1.0\r\n" + parts).encode()


def test_transient_smtp_failure_is_retried_and_permanent_failure_recorded(app: App, mailstack: MailStack,
                                                                          shared_mailbox: str, clock: Clock,
                                                                          customer: str) -> None:
    mailstack.deliver(complaint(to=shared_mailbox, sender=customer), shared_mailbox)
    app.poll_once()
    app.process_once()
    mailstack.fail_smtp(451, "4.3.0 try again later")

    first = app.send_once()
    (item,) = _outbox(app)
    assert (first.retried, item.status, item.attempts) == (1, "queued", 1)
    assert "451" in (item.last_error or "")
    assert item.next_attempt_at == clock() + timedelta(seconds=60)
    assert app.send_once().claimed == 0  # not due yet
    clock.advance(seconds=61)
    assert app.send_once().sent == 1
    assert len(_inbox(mailstack, customer)) == 1

    mailstack.deliver(complaint(to=shared_mailbox, sender="khac@example.vn", phone="0987000222"), shared_mailbox)
    app.poll_once()
    app.process_once()
    mailstack.fail_smtp(550, "5.1.1 mailbox unavailable")
    assert app.send_once().failed == 1
    failed = _outbox(app)[-1]
    assert failed.status == "failed" and "550 5.1.1 mailbox unavailable" in (failed.last_error or "")


def test_smtp_server_down_keeps_notices_queued(mailstack: MailStack, shared_mailbox: str, database_url: str,
                                               tmp_path: Path, clock: Clock) -> None:
    app = App.build(make_config(mailstack, shared_mailbox, database_url, tmp_path, smtp={"port": 1}), now=clock)
    upgrade(app.engine)
    mailstack.deliver(complaint(to=shared_mailbox), shared_mailbox)
    app.poll_once()
    app.process_once()

    report = app.send_once()

    (item,) = _outbox(app)
    assert (report.deferred, item.status, item.attempts) == (1, "queued", 0)  # never reached it: not charged
    assert item.last_error and "not attempted" in item.last_error
    for _ in range(12):  # an outage longer than the retry budget (max_attempts = 8) loses nothing
        clock.advance(hours=1)
        app.send_once()
    (item,) = _outbox(app)
    assert (item.status, item.attempts) == ("queued", 0)
    app.close()


def test_late_and_undated_complaints_are_flagged_not_rejected(app: App, mailstack: MailStack,
                                                              shared_mailbox: str) -> None:
    late = complaint(to=shared_mailbox, sender="late@example.vn",
                     body="Tôi bị trừ cước hai lần khi thanh toán ngày 05/08/2026. SĐT 0912345678, "
                          "số thẻ 0123 4567 8901.")
    undated = complaint(to=shared_mailbox, sender="nodate@example.vn",
                        body="Đầu thu báo lỗi E48. SĐT 0912345679, số thẻ 0123 4567 8902.")
    for raw in (late, undated):
        mailstack.deliver(raw, shared_mailbox)

    _run(app)

    first, second = _tickets(app)
    assert (first.category, first.time_limit, first.status) == ("fee", "late", "l1")
    assert "late" in first.flags
    assert second.time_limit == "unknown" and "time_limit_unknown" in second.flags
    assert all(o.kind == "receipt" for o in _outbox(app))
