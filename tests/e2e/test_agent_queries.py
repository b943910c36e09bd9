"""Agents' queries by mail end to end on the real Dovecot and SMTP servers: an agent mails the
shared mailbox ``#list`` (``#danh-sách``), ``#queue`` (``#hàng-đợi``), ``#show`` (``#xem``) or, a
supervisor, ``#report`` (``#báo-cáo``) with no ticket tag, and finds the answer in their own
inbox, threaded under their mail; no ticket changes."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.e2e.test_workflow import AUTH, Desk, desk
from tests.helpers.mail import message, new_id

__all__ = ["desk"]  # the fixture, shared with test_workflow
pytestmark = pytest.mark.e2e


def _ask(desk: Desk, sender: str, body: str, *, auth: bool = True) -> str:
    """``sender`` mails ``body`` to the shared mailbox, no ticket tag; returns its Message-ID."""
    mid = new_id()
    desk.clock.advance(minutes=5)
    desk.stack.deliver(message(sender=sender, to=desk.shared, subject="Công việc của tôi", body=body,
                               message_id=mid, headers=AUTH if auth else None, date=desk.clock()).as_bytes(),
                       desk.shared)
    desk.run()
    return mid


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize("spelling", ["#list", "#danh-sách"])
def test_an_agent_lists_their_open_tickets_by_mail(desk: Desk, spelling: str) -> None:
    ref = desk.complain()
    desk.complain()
    desk.agent(desk.l1, ref, f"#assign {desk.l1}")
    before = [(t.status, t.queue, t.assignee) for t in desk.tickets()]
    inbox = len(desk.inbox(desk.l1))

    mid = _ask(desk, desk.l1, spelling)

    answer = desk.inbox(desk.l1)[inbox:]
    assert len(answer) == 1
    mail = answer[0]
    assert mail["Subject"] == "Re: Công việc của tôi" and mail["In-Reply-To"] == mid and mid in mail["References"]
    assert ref in _text(mail) and desk.tickets()[-1].ref not in _text(mail)  # only the agent's own
    assert ref in _html(mail) and "Chấp nhận" in _html(mail)
    assert [(t.status, t.queue, t.assignee) for t in desk.tickets()] == before


@pytest.mark.parametrize(("queue", "show"), [("#queue L1", "#show"), ("#hàng-đợi L1", "#xem")])
def test_an_agent_sees_the_queue_and_one_ticket_masked(desk: Desk, queue: str, show: str) -> None:
    ref = desk.complain()
    inbox = len(desk.inbox(desk.l1))

    _ask(desk, desk.l1, f"{queue}\n{show} {ref}")

    (mail,) = desk.inbox(desk.l1)[inbox:]
    text = _text(mail)
    assert text.count(ref) >= 2 and "Hàng đợi L1" in text
    assert "0912345678" not in text and "345.678" not in text and "•" in text  # card and phone masked
    assert "Thư gần nhất" in text and "khách hàng / customer" in text


def test_an_l1_agent_may_not_see_the_l2_queue(desk: Desk) -> None:
    desk.complain()
    inbox = len(desk.inbox(desk.l1))

    _ask(desk, desk.l1, "#hàng-đợi L2")

    (mail,) = desk.inbox(desk.l1)[inbox:]
    assert "Lệnh không thực hiện được" in mail["Subject"] and "supervisors see every queue" in _text(mail)


@pytest.mark.parametrize("spelling", ["#report", "#báo-cáo"])
def test_a_supervisor_gets_the_digest_now(desk: Desk, spelling: str) -> None:
    ref = desk.complain()
    inbox = len(desk.inbox(desk.sup))

    mid = _ask(desk, desk.sup, spelling)

    (mail,) = desk.inbox(desk.sup)[inbox:]
    assert mail["Subject"].startswith("Báo cáo khiếu nại ngày") and mail["In-Reply-To"] == mid
    assert [a.get_content_type() for a in mail.iter_attachments()] == ["text/csv"]
    assert ref in next(mail.iter_attachments()).get_content()


def test_a_customer_writing_list_gets_a_receipt_not_an_answer(desk: Desk) -> None:
    desk.complain()
    tickets = len(desk.tickets())

    _ask(desk, desk.customer, "#list\nNhà tôi mất sóng K+. Số thẻ 0123 4567 8901, SĐT 0912.345.678.", auth=False)

    assert len(desk.tickets()) == tickets + 1 and desk.outbox("agent_answer") == []
