"""Agents log complaints by e-mail end to end on the real Dovecot and SMTP servers: an agent mails
the shared mailbox a customer's mail forwarded as an attachment under ``#new`` (``#mới``), or a
phone complaint under ``#tạo`` / ``#new`` with ``#received`` and ``#channel``; the customer finds
the receipt in their inbox, or the agent finds it as a PDF in theirs. (The desk's clock is
Thu 12/02/2026 09:00 in Hà Nội.)"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from tests.e2e.test_workflow import AUTH, Desk, desk
from tests.helpers.mail import message, new_id

__all__ = ["desk"]  # the fixture, shared with test_workflow
pytestmark = pytest.mark.e2e

WORDS = "Tôi bị mất kênh K+ Sport 1 từ hôm 09/02/2026, đã khởi động lại đầu thu mà không được."


def _log(desk: Desk, body: str, *, attach: EmailMessage | None = None) -> str:
    """The L1 agent mails ``body`` (and the attached mail) to the shared mailbox; its Message-ID."""
    mid = new_id()
    desk.clock.advance(minutes=5)
    mail = message(sender=desk.l1, to=desk.shared, subject="Fwd: Mất kênh K+ Sport 1", body=body, message_id=mid,
                   headers=AUTH, date=desk.clock())
    if attach is not None:
        mail.add_attachment(attach)
    desk.stack.deliver(mail.as_bytes(), desk.shared)
    desk.run()
    return mid


@pytest.mark.parametrize("command", ["#new", "#mới"])
def test_a_forwarded_customer_mail_gets_the_customer_the_receipt(desk: Desk, command: str) -> None:
    inner = EmailMessage(policy=SMTP)
    inner["From"] = f"Phạm Thị Hoa <{desk.customer}>"
    inner["To"] = desk.l1
    inner["Subject"] = "Mất kênh K+ Sport 1"
    inner["Date"] = "Tue, 10 Feb 2026 20:15:00 +0700"
    inner["Message-ID"] = f"<{new_id().strip('<>')}>"
    inner.set_content(f"{WORDS}\nSĐT 0987 654 321, số thẻ 8401 2345 6789.")

    _log(desk, f"{command}\n", attach=inner)

    (ticket,) = desk.tickets()
    assert (ticket.customer_address, ticket.channel, ticket.status) == (desk.customer, "email-forwarded", "l1")
    assert ticket.received_at == datetime(2026, 2, 10, 13, 15, tzinfo=UTC)
    assert "logged" in desk.events(ticket.ref)
    receipts = [m for m in desk.inbox(desk.customer) if ticket.ref in str(m["Subject"])]
    assert len(receipts) == 1
    assert not any("PDF" in str(m.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
                   for m in desk.inbox(desk.l1) if ticket.ref in str(m["Subject"]))


@pytest.mark.parametrize("lines", ["#new\n#received 11/02/2026 14:30\n#channel hotline",
                                   "#tạo\n#ngày-nhận 11/02/2026 14:30\n#kênh hotline"])
def test_a_phone_complaint_without_email_gives_the_agent_a_pdf_receipt(desk: Desk, lines: str) -> None:
    mid = _log(desk, f"{lines}\nHọ tên: Lê Văn Tám\nSĐT: 0987 654 321\nSố thẻ: 8401 2345 6789\n\n{WORDS}")

    (ticket,) = desk.tickets()
    assert (ticket.channel, ticket.customer_address) == ("hotline", "")
    assert ticket.received_at == datetime(2026, 2, 11, 7, 30, tzinfo=UTC)
    (notice,) = [m for m in desk.inbox(desk.l1) if m["In-Reply-To"] == mid]
    assert ticket.ref in str(notice["Subject"])
    (pdf,) = [p for p in notice.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"{ticket.ref}-bien-nhan.pdf" and pdf.get_content().startswith(b"%PDF")
