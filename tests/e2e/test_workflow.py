"""The five-step process end to end on the real Dovecot and SMTP server, time moved by hand."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.app import App
from mailproc.store.migrate import upgrade
from mailproc.store.models import Event, OutboxItem, Ticket
from mailproc.testing.devstack import MailStack
from mailproc.workflow.deadlines import sweep_once
from mailproc.workflow.digest import digest_once
from tests.helpers import Clock, make_config
from tests.helpers.mail import complaint, message

pytestmark = pytest.mark.e2e
TRUSTED = "mx.kplus.example"
AUTH = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=kplus.example; spf=pass smtp.mailfrom=kplus.example"}
HCM = timedelta(hours=7)


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """A Hà Nội wall-clock time as UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - HCM


class Desk:
    """One test's K+ desk: the app, its agents' addresses and helpers to act as them."""

    def __init__(self, app: App, stack: MailStack, shared: str, clock: Clock, tag: str) -> None:
        self.app, self.stack, self.shared, self.clock = app, stack, shared, clock
        self.l1, self.l2, self.sup = f"l1.{tag}@kplus.example", f"l2.{tag}@kplus.example", f"sup.{tag}@kplus.example"
        self.dept = f"kt.{tag}@kplus.example"
        self.customer = f"khach.{tag}@gmail.com"

    def run(self) -> None:
        self.app.poll_once()
        self.app.process_once()
        self.app.send_once()

    def sweep(self) -> Any:
        report = sweep_once(self.app.sessions, self.app.ctx, now=self.clock)
        self.app.send_once()
        return report

    def complain(self, **kw: Any) -> str:
        self.stack.deliver(complaint(sender=f"Nguyễn Văn An <{self.customer}>", to=self.shared, **kw), self.shared)
        self.run()
        return self.tickets()[-1].ref

    def agent(self, sender: str, ref: str, body: str, *, auth: bool = True, attach: bytes | None = None) -> None:
        msg = message(sender=sender, to=self.shared, subject=f"Re: [{ref}] Mất sóng", body=body,
                      headers=AUTH if auth else None,
                      date=self.clock())
        if attach is not None:
            msg.add_attachment(attach, maintype="application", subtype="pdf", filename="bien-ban-ky.pdf")
        self.stack.deliver(msg.as_bytes(), self.shared)
        self.run()

    def tickets(self) -> list[Ticket]:
        with self.app.sessions() as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.id)))

    def ticket(self, ref: str) -> Ticket:
        with self.app.sessions() as s:
            found = s.scalar(select(Ticket).where(Ticket.ref == ref))
            assert found is not None
            return found

    def outbox(self, kind: str | None = None) -> list[OutboxItem]:
        with self.app.sessions() as s:
            stmt = select(OutboxItem).order_by(OutboxItem.id)
            if kind:
                stmt = stmt.where(OutboxItem.kind == kind)
            return list(s.scalars(stmt))

    def events(self, ref: str) -> list[str]:
        with self.app.sessions() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.ref == ref))
            assert ticket is not None
            return list(s.scalars(select(Event.kind).where(Event.ticket_id == ticket.id).order_by(Event.id)))

    def inbox(self, user: str) -> list[EmailMessage]:
        return [email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
                for raw in self.stack.messages(user)]


@pytest.fixture
def desk(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    tag = uuid.uuid4().hex[:8]
    agents = [{"email": f"l1.{tag}@kplus.example", "role": "l1"}, {"email": f"l2.{tag}@kplus.example", "role": "l2"},
              {"email": f"sup.{tag}@kplus.example", "role": "supervisor"},
              {"email": f"kt.{tag}@kplus.example", "role": "department", "department": "Kỹ thuật"}]
    config = make_config(mailstack, shared_mailbox, database_url, tmp_path, auth={"trusted_authserv_ids": [TRUSTED]},
                         workflow={"reject_late": True}, routing={"rules": []})
    config = _with_agents(config, agents)
    clock.value = at(2026, 2, 12)  # Thu 12/02/2026 09:00, the week before Tết
    app = App.build(config, now=clock)
    upgrade(app.engine)
    yield Desk(app, mailstack, shared_mailbox, clock, tag)
    app.close()


def _with_agents(config: Any, agents: list[dict[str, str]]) -> Any:
    from dataclasses import replace

    from mailproc.config import AgentConfig, validate

    updated = replace(config, agents=[AgentConfig(**a) for a in agents])
    validate(updated)
    return updated


def test_complaint_to_written_reply_across_tet(desk: Desk) -> None:
    ref = desk.complain()
    ticket = desk.ticket(ref)
    # 5 working days after Thu 12/02: Fri 13, then Tết (16-20/02) is skipped: 23, 24, 25, 26 -> Thu 26/02.
    assert ticket.accept_due == date(2026, 2, 26)
    # 20 working days: 13/02, 23-27/02 (6), 02-06/03 (11), 09-13/03 (16), 16-19/03 (20) -> Thu 19/03.
    assert ticket.reply_due == date(2026, 3, 19)
    assert (ticket.status, ticket.queue) == ("l1", "L1")
    assert [o.to_address for o in desk.outbox("agent_notice")] == [desk.l1]  # the L1 queue is told

    desk.clock.advance(hours=1)
    desk.agent(desk.l1, ref, "#escalate\nKhách cần kiểm tra tín hiệu tại nhà.")
    assert (desk.ticket(ref).status, desk.ticket(ref).queue) == ("l2", "L2")
    assert desk.l2 in [o.to_address for o in desk.outbox("agent_notice")]

    desk.clock.value = at(2026, 2, 26, 7, 59)  # the last day, before the morning cut-off: nothing yet
    assert desk.sweep().auto_accepted == []
    desk.clock.value = at(2026, 2, 26, 8, 0)
    assert desk.sweep().auto_accepted == [ref]
    assert desk.sweep().auto_accepted == []  # twice: still one acceptance
    assert [o.status for o in desk.outbox("acceptance")] == ["sent"]
    assert desk.ticket(ref).status == "accepted"

    desk.clock.value = at(2026, 3, 10)
    desk.agent(desk.l2, ref, "#final\nSau khi kiểm tra, K+ xác nhận lỗi do đầu thu. "
                             "Chúng tôi sẽ thay đầu thu miễn phí.")
    assert desk.ticket(ref).final_text is not None
    report = desk.sweep()
    assert report.answered == [ref]
    assert desk.ticket(ref).status == "answered"
    (letter,) = [m for m in desk.inbox(desk.customer) if "Trả lời khiếu nại" in m["Subject"]]
    pdf = [p for p in letter.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdf) == 1 and pdf[0].get_content().startswith(b"%PDF")
    text = letter.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Kính gửi" in text and "V/v" in text and "thay đầu thu miễn phí" in text
    assert "ngày 10 tháng 03 năm 2026" in text
    assert desk.sweep().answered == []  # sent once
    assert len(desk.outbox("final_reply")) == 1


def test_rejection_path_for_a_late_complaint(desk: Desk) -> None:
    ref = desk.complain(body="Tôi bị trừ cước hai lần khi thanh toán ngày 05/10/2025. SĐT 0912345678, "
                             "số thẻ 0123 4567 8901.")
    assert desk.ticket(ref).time_limit == "late"
    desk.agent(desk.l1, ref, "#chuyển-cấp-2")
    desk.agent(desk.l2, ref, "#từ-chối Khiếu nại gửi sau thời hạn 01 tháng kể từ ngày thanh toán")
    ticket = desk.ticket(ref)
    assert ticket.status == "rejected" and ticket.closed_at is not None
    (rejection,) = [m for m in desk.inbox(desk.customer) if "từ chối" in m["Subject"]]
    assert "sau thời hạn 01 tháng" in rejection.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_in_time_complaint_cannot_be_rejected_and_nothing_changes(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "#escalate")
    desk.agent(desk.l2, ref, "#reject Không có căn cứ")
    assert desk.ticket(ref).status == "l2"
    (refusal,) = [m for m in desk.inbox(desk.l2) if "refused" in m["Subject"]]
    body = refusal.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "time limit" in body and "#accept" in body  # says why and lists what is allowed
    assert "command_refused" in desk.events(ref)


def test_forged_agent_changes_nothing(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "#resolve\nĐã xử lý xong.", auth=False)
    ticket = desk.ticket(ref)
    assert ticket.status == "l1"
    assert "unauthenticated_agent_mail" in desk.events(ref)
    assert desk.outbox("resolution") == [] and desk.outbox("command_refused") == []


def test_relay_goes_from_the_company_and_note_stays_internal(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "Anh vui lòng khởi động lại đầu thu và kiểm tra dây cáp.")
    desk.agent(desk.l1, ref, "#ghi-chú Khách gọi lại tổng đài lúc 10h.")
    relays = [m for m in desk.inbox(desk.customer)
              if "khởi động lại" in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert len(relays) == 1
    assert relays[0]["From"].addresses[0].addr_spec == desk.shared  # never the agent's own address
    assert desk.l1 not in relays[0].as_string()
    assert not any("tổng đài lúc 10h" in m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                   for m in desk.inbox(desk.customer))
    assert "note_text" in desk.events(ref)


def test_resolve_then_customer_reopens_to_l2(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "#đã-giải-quyết\nĐã kích hoạt lại thẻ cho Quý khách.")
    assert desk.ticket(ref).status == "closed"
    (resolution,) = desk.outbox("resolution")
    desk.clock.advance(days=2)
    reply = message(sender=desk.customer, to=desk.shared, subject=f"Re: [{ref}] Kết quả",
                    body="Vẫn chưa xem được kênh nào, đề nghị kiểm tra lại.",
                    headers={"In-Reply-To": f"<{resolution.message_id}>"})
    desk.stack.deliver(reply.as_bytes(), desk.shared)
    desk.run()
    ticket = desk.ticket(ref)
    assert (ticket.status, ticket.queue, ticket.reopened) == ("l2", "L2", 1)
    assert "reopen" in desk.events(ref)


def test_meeting_minutes_consult_assign_in_vietnamese(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "#cap2")
    desk.agent(desk.l2, ref, "#chấp-nhận")
    desk.agent(desk.l2, ref, f"#phân-công {desk.l2}")
    desk.agent(desk.l2, ref, "#hẹn-gặp 09:00 ngày 20/02/2026 tại 135 Hai Bà Trưng, Hà Nội")
    desk.agent(desk.l2, ref, "#phối-hợp Kỹ thuật\nĐề nghị kiểm tra lịch sử tín hiệu của thẻ.")
    desk.agent(desk.dept, ref, "Tín hiệu bình thường, lỗi do đầu thu.")
    desk.agent(desk.l2, ref, "#biên-bản", attach=b"%PDF-1.4 signed minutes")
    ticket = desk.ticket(ref)
    assert (ticket.status, ticket.assignee) == ("accepted", desk.l2)
    events = desk.events(ref)
    for kind in ("accept", "assign", "meeting", "consult", "consult_answer", "minutes_filed"):
        assert kind in events
    assert [o.to_address for o in desk.outbox("consult")] == [desk.dept]
    (meeting,) = [m for m in desk.inbox(desk.customer) if "Mời gặp" in m["Subject"]]
    assert "135 Hai Bà Trưng" in meeting.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize("english,vietnamese", [("#escalate", "#chuyen-cap-2"), ("#resolve", "#xong")])
def test_l1_commands_in_both_languages(desk: Desk, english: str, vietnamese: str) -> None:
    first, second = desk.complain(), desk.complain(phone="0987000111")
    desk.agent(desk.l1, first, english)
    desk.agent(desk.l1, second, vietnamese)
    assert desk.ticket(first).status == desk.ticket(second).status != "l1"


def test_reminders_breach_and_daemon_down_catch_up(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "#escalate")
    # Two working days before the acceptance deadline (26/02): Tue 24/02.
    desk.clock.value = at(2026, 2, 24)
    assert desk.sweep().reminders == 1
    assert desk.sweep().reminders == 0
    reminded = {o.to_address for o in desk.outbox("reminder")}
    assert reminded == {desk.l2, desk.sup}
    # The daemon was down from the 25th to Mon 02/03: on start it accepts (late) exactly once.
    desk.clock.value = at(2026, 3, 2)
    report = desk.sweep()
    assert report.auto_accepted == [ref]
    assert "auto_accept_reason" in desk.events(ref)
    assert len(desk.outbox("acceptance")) == 1
    # The written reply is never prepared: after 19/03 the breach is reported once.
    desk.clock.value = at(2026, 3, 20)
    assert desk.sweep().breaches == 1
    assert desk.sweep().breaches == 0


def test_mailbox_alert_and_recovery(desk: Desk) -> None:
    desk.complain()
    desk.clock.advance(minutes=45)
    assert desk.sweep().alerts == ["mailbox_stale:problem"]
    assert desk.sweep().alerts == []
    desk.run()  # a successful poll
    assert desk.sweep().alerts == ["mailbox_stale:recovered"]
    assert len([m for m in desk.inbox(desk.sup) if "mailproc" in m["Subject"]]) == 2


def test_digest_numbers_match_the_database(desk: Desk) -> None:
    refs = [desk.complain(phone=f"09123400{i:02d}") for i in range(3)]
    desk.agent(desk.l1, refs[0], "#escalate")
    desk.agent(desk.l1, refs[1], "#resolve\nĐã xong.")
    run = digest_once(desk.app.sessions, desk.app.ctx, now=desk.clock, send=True)
    queues = {q.queue: q for q in run.digest.queues}
    assert (queues["L1"].new, queues["L1"].open) == (2, 1)  # refs[1] closed at L1 in the window
    assert (queues["L2"].new, queues["L2"].open) == (1, 1)
    assert queues["L1"].closed == 1
    assert run.queued == 1
    assert digest_once(desk.app.sessions, desk.app.ctx, now=desk.clock, send=True).queued == 0  # once a day
    desk.app.send_once()
    (mail,) = [m for m in desk.inbox(desk.sup) if "Báo cáo" in m["Subject"]]
    assert any(p.get_filename() and p.get_filename().endswith(".csv") for p in mail.iter_attachments())


# (setup commands, English command, Vietnamese command, expected status, expected event)
COMMANDS = [
    ([], "#resolve Đã xử lý.", "#đã-giải-quyết Đã xử lý.", "closed", "resolve"),
    ([], "#escalate", "#chuyển-cấp-2", "l2", "escalate"),
    (["#escalate"], "#accept", "#chấp-nhận", "accepted", "accept"),
    (["#escalate"], "#reject Gửi sau thời hạn", "#từ-chối Gửi sau thời hạn", "rejected", "reject"),
    ([], "#note Khách gọi lại.", "#ghi-chú Khách gọi lại.", "l1", "note"),
    (["#escalate"], "#assign {l2}", "#giao {l2}", "l2", "assign"),
    (["#escalate", "#accept"], "#meeting 9h 20/02 tại văn phòng", "#mời-họp 9h 20/02 tại văn phòng", "accepted",
     "meeting"),
    (["#escalate", "#accept"], "#minutes", "#biên-bản", "accepted", "minutes"),
    (["#escalate"], "#consult Kỹ thuật", "#hỏi-ý-kiến Kỹ thuật", "l2", "consult"),
    (["#escalate", "#accept"], "#final\nNội dung trả lời.", "#trả-lời-chính-thức\nNội dung trả lời.", "accepted",
     "final"),
]


@pytest.mark.parametrize("setup,english,vietnamese,status,event", COMMANDS, ids=[c[4] for c in COMMANDS])
def test_every_command_in_both_languages(desk: Desk, setup: list[str], english: str, vietnamese: str, status: str,
                                         event: str) -> None:
    late = "Tôi bị trừ cước khi thanh toán ngày 05/10/2025. SĐT {phone}, số thẻ 0123 4567 8901."
    for i, command in enumerate((english, vietnamese)):
        ref = desk.complain(phone=f"09876500{i:02d}", body=late.format(phone=f"09876500{i:02d}"))
        for step in setup:
            desk.agent(desk.l1 if step == "#escalate" else desk.l2, ref, step)
        actor = desk.l1 if event in ("resolve", "escalate", "note") else desk.l2
        desk.agent(actor, ref, command.format(l2=desk.l2))
        assert desk.ticket(ref).status == status, (command, desk.events(ref))
        assert event in desk.events(ref), command
        assert "command_refused" not in desk.events(ref)


def test_unknown_command_is_refused_with_the_allowed_list(desk: Desk) -> None:
    ref = desk.complain()
    desk.agent(desk.l1, ref, "#close\nĐóng lại.")
    assert desk.ticket(ref).status == "l1"
    (refusal,) = [m for m in desk.inbox(desk.l1) if "refused" in m["Subject"]]
    body = refusal.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "#close: unknown command" in body and "#escalate" in body and "#resolve" in body


def test_reply_sent_straight_from_the_shared_mailbox_is_filed(desk: Desk) -> None:
    ref = desk.complain()
    (receipt,) = desk.inbox(desk.customer)
    sent = message(sender=desk.shared, to=desk.customer, subject=f"Re: [{ref}] Mất sóng",
                   body="Chào anh An, kỹ thuật viên sẽ đến nhà anh chiều nay.",
                   headers={"In-Reply-To": receipt["Message-ID"]})
    desk.stack.deliver(sent.as_bytes(), desk.shared, folder="Sent")
    desk.run()
    assert "agent_reply_sent" in desk.events(ref)
    assert desk.ticket(ref).status == "l1"


def test_full_path_across_the_decreed_swap_and_national_day(desk: Desk) -> None:
    desk.clock.value = at(2026, 8, 20)  # Thu 20/08/2026
    ref = desk.complain()
    ticket = desk.ticket(ref)
    # Fri 21, Sat 22 (a decreed working Saturday, made up for Mon 31/08), Mon 24, Tue 25, Wed 26.
    assert ticket.accept_due == date(2026, 8, 26)
    # ... Thu 27, Fri 28 (7); 31/08 (swapped), 01-02/09 (Quốc khánh) off; 03-04/09 (9), 07-11/09 (14),
    # 14-18/09 (19), Mon 21/09 (20).
    assert ticket.reply_due == date(2026, 9, 21)
    desk.agent(desk.l1, ref, "#escalate")
    desk.clock.value = at(2026, 8, 26, 8, 30)
    assert desk.sweep().auto_accepted == [ref]
    desk.clock.value = at(2026, 9, 18)
    desk.agent(desk.l2, ref, "#văn-bản-trả-lời\nK+ đã hoàn tiền 175.000đ vào tài khoản của Quý khách.")
    assert desk.sweep().answered == [ref]
    ticket = desk.ticket(ref)
    assert ticket.status == "answered" and ticket.answered_at is not None
    assert ticket.answered_at.astimezone(UTC).date() <= ticket.reply_due


@pytest.mark.parametrize("command", ["#set phone 0912 345 678", "#sửa sđt 0912 345 678"])
def test_an_agent_corrects_the_phone_by_mail(desk: Desk, command: str) -> None:
    from zoneinfo import ZoneInfo

    from mailproc.ops.views import ticket_json

    ref = desk.complain(phone="0987 654 321")
    desk.clock.advance(minutes=30)
    desk.agent(desk.l1, ref, f"{command}\nKhách gọi báo số mới.")

    ticket = desk.ticket(ref)
    assert ticket_json(ticket, 0, ZoneInfo("Asia/Ho_Chi_Minh"))["phone"] == "+84912345678"
    assert ticket.status == "l1" and "command_refused" not in desk.events(ref)
    with desk.app.sessions() as s:
        (event,) = s.scalars(select(Event).where(Event.ticket_id == ticket.id, Event.kind == "identifier_set"))
        assert (event.actor, event.detail["field"], event.detail["old"], event.detail["new"]) == (
            desk.l1, "phone", "+84987654321", "+84912345678")
        assert (event.detail["provenance"], event.detail["confidence"]) == ("agent", "high")
    assert [m for m in desk.inbox(desk.l1) if "refused" in m["Subject"]] == []


def test_an_invalid_correction_is_refused_with_a_clear_reply(desk: Desk) -> None:
    ref = desk.complain(phone="0987 654 321")
    desk.agent(desk.l1, ref, "#sửa sđt 0912 345\nKhách gọi báo số mới.")

    assert desk.ticket(ref).phone == "+84987654321"
    assert "identifier_set" not in desk.events(ref)
    (refusal,) = [m for m in desk.inbox(desk.l1) if "refused" in m["Subject"]]
    body = refusal.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "'0912 345' is not a valid phone" in body and "#set" in body  # why, and what may be done


def test_setting_the_missing_card_sends_the_ticket_on_with_the_receipt(desk: Desk) -> None:
    ref = desk.complain(body="Nhà em mất sóng K+ từ hôm qua. Số điện thoại 0987 654 321.")
    assert desk.ticket(ref).status == "assessing"
    desk.agent(desk.l1, ref, "#cập-nhật số thẻ 8401 2345 6789")

    ticket = desk.ticket(ref)
    assert (ticket.status, ticket.queue, ticket.smartcard, ticket.missing) == ("l1", "L1", "840123456789", [])
    subjects = [m["Subject"] for m in desk.inbox(desk.customer)]
    assert len(subjects) == 2 and all(f"[{ref}]" in s for s in subjects)  # the request, then the receipt
