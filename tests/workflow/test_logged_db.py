"""``#new`` (``#mới``, ``#tạo``) on a database only: an authenticated agent logs a complaint taken
elsewhere — a customer's mail forwarded inline or attached, or a phone call written down — and
it becomes the customer's ticket, assessed and routed as a mailed one, the agent recorded as
the one who logged it; the receipt goes to the customer's e-mail or, without one, to the agent
as a PDF; what is missing is asked of the agent."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.store.models import Attachment, OutboxAttachment, TicketMessage
from tests.helpers.mail import message, new_id
from tests.workflow.test_agent_mail_db import AUTH, L1, SHARED, Desk

CUSTOMER = "hoa.pham@gmail.com"
WORDS = "Tôi bị mất kênh K+ Sport 1 từ hôm 30/10/2026, đã khởi động lại đầu thu mà không được."


def _log(desk: Desk, body: str, *, subject: str = "Khiếu nại qua tổng đài", attach: EmailMessage | None = None,
         auth: str | None = AUTH) -> Any:
    desk.clock.advance(minutes=10)
    mail = message(sender=f"Trần Văn Bình <{L1}>", to=SHARED, subject=subject, body=body,
                   headers={"Authentication-Results": auth} if auth else {}, date=desk.clock())
    if attach is not None:
        mail.add_attachment(attach)  # a message/rfc822 part, as mail clients forward "as attachment"
    desk.store(mail.as_bytes())
    return desk.app.process_once()


def _text(notice: Any) -> str:
    """What a notice says (its template context until rendered)."""
    return str(notice.context or notice.body_text)


def _customer_mail() -> EmailMessage:
    inner = EmailMessage(policy=SMTP)
    inner["From"] = f"Phạm Thị Hoa <{CUSTOMER}>"
    inner["To"] = "l1.tran@kplus.example"
    inner["Subject"] = "Mất kênh K+ Sport 1"
    inner["Date"] = "Sat, 31 Oct 2026 20:15:00 +0700"
    inner["Message-ID"] = "<hoa-1@gmail.com>"
    inner.set_content(f"{WORDS}\nSĐT 0987 654 321, số thẻ 8401 2345 6789.")
    inner.add_attachment(b"%PDF-1.4 hoa don", maintype="application", subtype="pdf", filename="hoa-don.pdf")
    return inner


@pytest.mark.parametrize("command", ["#new", "#mới", "#tao-moi"])
def test_an_attached_customer_mail_becomes_the_customers_ticket(desk: Desk, command: str) -> None:
    report = _log(desk, f"{command}\n", subject="Fwd: Mất kênh K+ Sport 1", attach=_customer_mail())

    assert report.created == 1
    (ticket,) = desk.tickets()
    assert (ticket.status, ticket.queue, ticket.channel) == ("l1", "L1", "email-forwarded")
    assert ticket.customer_address == CUSTOMER and ticket.smartcard == "840123456789"
    assert ticket.received_at == datetime(2026, 10, 31, 13, 15, tzinfo=UTC)  # the customer's mail, not the forward
    assert ticket.subject == "Mất kênh K+ Sport 1"
    logged = next(e for e in desk.events(ticket.ref) if e.kind == "logged")
    assert (logged.actor, logged.detail["source"]) == (L1, "forward-attached")
    assert desk.sent_to("receipt") == [CUSTOMER]
    with desk.app.sessions() as session:
        (filed,) = session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id))
        assert filed.from_address == CUSTOMER and WORDS in filed.body_text
        files = list(session.scalars(select(Attachment.filename).where(Attachment.ticket_message_id == filed.id)))
    assert files == ["hoa-don.pdf"]


def test_an_inline_forward_is_read_from_the_forwarded_header_block(desk: Desk) -> None:
    body = ("#mới\n\n---------- Forwarded message ---------\n"
            f"From: Phạm Thị Hoa <{CUSTOMER}>\nDate: Sat, Oct 31, 2026 at 8:15 PM\n"
            "Subject: Mất kênh K+ Sport 1\nTo: <l1.tran@kplus.example>\n\n"
            f"{WORDS}\nSĐT 0987 654 321, số thẻ 8401 2345 6789.\n")
    assert _log(desk, body, subject="Fwd: Mất kênh K+ Sport 1").created == 1

    (ticket,) = desk.tickets()
    assert ticket.customer_address == CUSTOMER and ticket.phone == "+84987654321"
    assert ticket.received_at == datetime(2026, 10, 31, 13, 15, tzinfo=UTC)
    assert next(e for e in desk.events(ticket.ref) if e.kind == "logged").detail["source"] == "forward-inline"
    assert desk.sent_to("receipt") == [CUSTOMER]


@pytest.mark.parametrize("lines", [("#new", "#received 30/10/2026 14:30", "#channel hotline"),
                                   ("#tạo", "#ngày nhận: 30/10/2026 14:30", "#kênh hotline"),
                                   ("#tao", "#ngaynhan 30/10/2026 14:30", "#kenh Hotline")])
def test_a_phone_complaint_without_email_gives_the_agent_a_pdf_receipt(desk: Desk, lines: tuple[str, ...]) -> None:
    body = "\n".join(lines) + (f"\nHọ tên: Lê Văn Tám\nSĐT: 0987 654 321\nSố thẻ: 8401 2345 6789\n\n{WORDS}\n"
                                "-- \nBình 0912 000 111")  # the agent's signature: not the customer's phone
    assert _log(desk, body).created == 1

    (ticket,) = desk.tickets()
    assert (ticket.channel, ticket.customer_address, ticket.phone) == ("hotline", "", "+84987654321")
    assert ticket.received_at == datetime(2026, 10, 30, 7, 30, tzinfo=UTC)  # 14:30 in Hà Nội
    assert desk.outbox("receipt") == []
    (notice,) = [o for o in desk.outbox("agent_notice") if o.to_address == L1 and "PDF" in _text(o)]
    with desk.app.sessions() as session:
        (pdf,) = session.scalars(select(OutboxAttachment).where(OutboxAttachment.outbox_id == notice.id))
    assert pdf.filename == f"{ticket.ref}-bien-nhan.pdf" and pdf.data.startswith(b"%PDF")


def test_an_email_label_sends_the_receipt_to_the_customer(desk: Desk) -> None:
    body = f"#new\n#channel store\nEmail: {CUSTOMER}\nSĐT: 0987 654 321\nSố thẻ: 8401 2345 6789\n\n{WORDS}"
    assert _log(desk, body).created == 1
    (ticket,) = desk.tickets()
    assert (ticket.channel, ticket.customer_address) == ("store", CUSTOMER)
    assert desk.sent_to("receipt") == [CUSTOMER]


def test_missing_identifiers_are_asked_of_the_agent_not_the_customer(desk: Desk) -> None:
    body = f"#mới\nEmail: {CUSTOMER}\n\n{WORDS}"
    assert _log(desk, body).created == 1
    (ticket,) = desk.tickets()
    assert ticket.status == "assessing" and ticket.missing
    assert desk.outbox("need_info") == [] and desk.outbox("receipt") == []
    (asked,) = [o for o in desk.outbox("agent_notice") if o.to_address == L1]
    assert "#set" in _text(asked) and all(m in _text(asked) for m in ticket.missing)


@pytest.mark.parametrize(("body", "reason"), [
    ("#new\n#received 31/02/2026\n" + WORDS, "DD/MM/YYYY"),
    ("#new\n#received 30/12/2026\n" + WORDS, "future"),
    ("#new\n#channel hot line!\n" + WORDS, "#channel"),
    ("#new\n#accept\n" + WORDS, "only #received and #channel"),
    ("#new\n", "no complaint text"),
])
def test_a_mail_that_cannot_be_logged_is_refused_and_creates_nothing(desk: Desk, body: str, reason: str) -> None:
    assert _log(desk, body).created == 0
    assert desk.tickets() == []
    (refusal,) = desk.outbox("command_refused")
    assert refusal.to_address == L1 and reason in _text(refusal)


def test_an_unauthenticated_new_is_a_complaint_from_the_agent_address_as_before(desk: Desk) -> None:
    _log(desk, f"#new\nSĐT: 0987 654 321\nSố thẻ: 8401 2345 6789\n\n{WORDS}", auth=None)
    assert [e.kind for t in desk.tickets() for e in desk.events(t.ref) if e.kind == "logged"] == []


def test_new_ids_do_not_collide_with_customer_mail(desk: Desk) -> None:
    desk.store(message(sender="An <an@example.net>", to=SHARED, subject="Mất sóng", message_id=new_id(),
                       body="Mất sóng. SĐT 0912 345 678, số thẻ 0123 4567 8901").as_bytes())
    desk.app.process_once()
    _log(desk, f"#new\nSĐT: 0987 654 321\nSố thẻ: 8401 2345 6789\n\n{WORDS}")
    assert len({t.ref for t in desk.tickets()}) == 2


def test_the_deadlines_count_from_the_receipt_at_the_contact_point(desk: Desk) -> None:
    complaint = f"SĐT: 0987 654 321\nSố thẻ: 8401 2345 6789\n\n{WORDS}"
    _log(desk, f"#new\n#received 16/10/2026 10:00\n{complaint}")
    _log(desk, f"#new\n{complaint}")
    earlier, today = desk.tickets()
    assert earlier.received_at == datetime(2026, 10, 16, 3, 0, tzinfo=UTC)
    assert earlier.reply_due < today.reply_due and earlier.accept_due < today.accept_due
    assert today.received_at == desk.clock()


@pytest.mark.parametrize("spelling", ["#set phone", "#sửa sđt"])
def test_the_agent_completes_a_logged_complaint_and_gets_the_pdf_receipt(desk: Desk, spelling: str) -> None:
    _log(desk, f"#new\n#channel store\nSố thẻ: 8401 2345 6789\n\n{WORDS}")
    (ticket,) = desk.tickets()
    assert ticket.status == "assessing" and ticket.missing == ["phone"]
    desk.agent(L1, f"{spelling} 0987 654 321", ref=ticket.ref)

    ticket = desk.ticket(ticket.ref)
    assert (ticket.status, ticket.phone) == ("l1", "+84987654321")
    (notice,) = [o for o in desk.outbox("agent_notice") if o.to_address == L1 and "PDF" in _text(o)]
    with desk.app.sessions() as session:
        (pdf,) = session.scalars(select(OutboxAttachment).where(OutboxAttachment.outbox_id == notice.id))
    assert pdf.filename == f"{ticket.ref}-bien-nhan.pdf"
    assert desk.outbox("receipt") == []
