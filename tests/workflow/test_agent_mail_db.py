"""Agents' mail on a database only: commands at the top of an authenticated reply move tickets.

No IMAP and no SMTP: complaints and agents' replies are stored as the poller would store them
(an ``inbound_messages`` row and its bytes), ``App.process_once()`` runs with a clock moved
by hand, and the tickets, events and outbox rows are read back. The end-to-end versions, on
the real servers, are in ``tests/test_workflow_e2e.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.store.models import Event, InboundMessage, Ticket, TicketMessage
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk, desk_app
from tests.helpers.mail import complaint, message, new_id

SHARED = "cskh@kplus.example"
CUSTOMER = "an.nguyen@gmail.com"
L1, L2, SUP, DEPT = "l1.tran@kplus.example", "l2.le@kplus.example", "sup.pham@kplus.example", "kythuat@kplus.example"
AGENTS = [{"email": L1, "role": "l1", "name": "Trần Văn Bình"}, {"email": L2, "role": "l2", "name": "Lê Thị Hoa"},
          {"email": SUP, "role": "supervisor"}, {"email": DEPT, "role": "department", "department": "Kỹ thuật"}]
TRUSTED = "mx.kplus.example"
AUTH = f"{TRUSTED}; dkim=pass header.d=kplus.example; dmarc=pass"
REF = "KP-2026-000001"
LATE_FEE = "Tôi bị trừ cước hai lần khi thanh toán ngày 05/10/2025. SĐT 0912345678, số thẻ 0123 4567 8901."


class Desk(BaseDesk):
    """One test's K+ desk without a mail server: store mail as the poller would, process it,
    read the rows back."""

    def complain(self, **kw: Any) -> Ticket:
        self.store(complaint(sender=f"Nguyễn Văn An <{CUSTOMER}>", message_id=kw.pop("message_id", new_id()), **kw))
        assert self.app.process_once().created == 1
        return self.tickets()[-1]

    def agent(self, sender: str, body: str, *, ref: str = REF, auth: str | None = AUTH,
              headers: dict[str, str] | None = None, folder: str = "INBOX") -> Any:
        """``sender`` replies to the shared mailbox about ``ref``; returns the process report."""
        self.clock.advance(minutes=10)
        extra = {**({"Authentication-Results": auth} if auth else {}), **(headers or {})}
        subject = f"Re: [{ref}] Mất sóng K+ từ 3 ngày nay" if ref else "Hỏi về khiếu nại"
        self.store(message(sender=sender, to=SHARED, subject=subject, body=body, headers=extra,
                           date=self.clock()).as_bytes(), folder=folder)
        return self.app.process_once()

    def tickets(self) -> list[Ticket]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def ticket(self, ref: str = REF) -> Ticket:
        with self.app.sessions() as session:
            found = session.scalar(select(Ticket).where(Ticket.ref == ref))
            assert found is not None
            return found

    def sent_to(self, kind: str) -> list[str]:
        return [o.to_address for o in self.outbox(kind)]

    def events(self, ref: str = REF) -> list[Event]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Event).join(Ticket).where(Ticket.ref == ref).order_by(Event.id)))

    def kinds(self, ref: str = REF) -> list[str]:
        return [e.kind for e in self.events(ref)]

    def last_row(self) -> InboundMessage:
        with self.app.sessions() as session:
            row = session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc()).limit(1)).first()
            assert row is not None
            return row

    def filed(self, ref: str = REF) -> list[TicketMessage]:
        with self.app.sessions() as session:
            return list(session.scalars(select(TicketMessage).join(Ticket).where(Ticket.ref == ref)
                                        .order_by(TicketMessage.id)))

    def snapshot(self) -> tuple[Any, ...]:
        """What an agent's mail may change: tickets, events, outbox rows."""
        return ([(t.status, t.queue, t.assignee, t.decided_at, t.closed_at, t.final_text) for t in self.tickets()],
                [(e.kind, e.actor) for e in self.events()], [(o.kind, o.to_address) for o in self.outbox()])


def build_desk(database_url: str, tmp_path: Path, clock: Clock, **sections: dict[str, Any]) -> Desk:
    base = {"smtp": {"from_address": SHARED}, "agents": AGENTS, "auth": {"trusted_authserv_ids": [TRUSTED]},
            "routing": {"rules": []}}  # every complaint starts at L1
    return Desk(desk_app(database_url, tmp_path, clock, base, **sections), clock)


MakeDesk = Callable[..., Desk]


def test_a_new_complaint_is_mailed_to_the_l1_queue_only(desk: Desk) -> None:
    ticket = desk.complain()

    assert (ticket.status, ticket.queue) == ("l1", "L1")
    (notice,) = desk.outbox("agent_notice")
    assert (notice.to_address, notice.ticket_id) == (L1, ticket.id)
    assert f"[{REF}]" in notice.subject
    assert desk.sent_to("receipt") == [CUSTOMER]


def test_escalate_moves_the_ticket_to_l2_and_tells_the_l2_agents(desk: Desk) -> None:
    desk.complain()

    report = desk.agent(L1, "#escalate\nKhách cần kiểm tra tín hiệu tại nhà.")

    assert (report.processed, report.agent_mail, report.created, report.replies) == (1, 1, 0, 0)
    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.updated_at) == ("l2", "L2", desk.clock())
    (escalate,) = [e for e in desk.events() if e.kind == "escalate"]
    assert (escalate.actor, escalate.detail["old"], escalate.detail["new"]) == (L1, "l1", "l2")
    (note,) = [e for e in desk.events() if e.kind == "note_text"]  # the line for L2 stays internal
    assert (note.actor, note.detail["text"]) == (L1, "Khách cần kiểm tra tín hiệu tại nhà.")
    assert desk.sent_to("agent_notice") == [L1, L2]
    assert [o.kind for o in desk.outbox() if o.to_address == CUSTOMER] == ["receipt"]
    row = desk.last_row()
    assert (row.status, row.outcome, row.ticket_id) == ("processed", "agent_command", ticket.id)
    assert [m.from_address for m in desk.filed()] == [CUSTOMER, L1]


def test_an_agent_reply_without_the_tag_joins_by_in_reply_to(desk: Desk) -> None:
    desk.complain()
    (notice,) = desk.outbox("agent_notice")

    desk.agent(L1, "#chuyển-cấp-2", ref="", headers={"In-Reply-To": f"<{notice.message_id}>"})

    assert desk.ticket().status == "l2"
    assert desk.last_row().outcome == "agent_command"


def test_accept_queues_the_acceptance_notice_to_the_customer(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    desk.agent(L2, "#CHAP_NHAN")

    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.decided_at) == ("accepted", "L2", desk.clock())
    (acceptance,) = desk.outbox("acceptance")
    assert (acceptance.to_address, acceptance.ticket_id) == (CUSTOMER, ticket.id)
    assert acceptance.subject.startswith(f"[{REF}]")
    (accept,) = [e for e in desk.events() if e.kind == "accept"]
    assert (accept.actor, accept.detail["old"], accept.detail["new"]) == (L2, "l2", "accepted")


def test_a_customer_notice_is_threaded_under_the_customers_own_mail(desk: Desk) -> None:
    first_id = new_id()
    desk.complain(message_id=first_id)
    desk.agent(L1, "#escalate")

    desk.agent(L2, "#accept")

    (acceptance,) = desk.outbox("acceptance")
    assert acceptance.in_reply_to == first_id.strip("<>")
    assert acceptance.references == first_id.strip("<>")


def test_resolve_closes_the_ticket_and_sends_the_text_from_the_company(desk: Desk) -> None:
    desk.complain()

    desk.agent(L1, "#đã-giải-quyết\nĐã kích hoạt lại thẻ cho Quý khách.")

    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.closed_at) == ("closed", None, desk.clock())
    (resolution,) = desk.outbox("resolution")
    assert resolution.to_address == CUSTOMER
    assert L1 not in (resolution.subject, resolution.in_reply_to, resolution.references)
    assert "Đã kích hoạt lại thẻ cho Quý khách." in (resolution.context or resolution.body_text)
    assert ("resolve", L1) in [(e.kind, e.actor) for e in desk.events()]
    assert desk.outbox("relay") == []  # the text went out once, as the resolution


def test_note_stays_internal_and_changes_no_status(desk: Desk) -> None:
    desk.complain()
    before = [o.id for o in desk.outbox()]

    desk.agent(L1, "#ghi-chú Khách gọi lại tổng đài lúc 10h.")

    assert desk.ticket().status == "l1"
    assert [o.id for o in desk.outbox()] == before
    (note,) = [e for e in desk.events() if e.kind == "note_text"]
    assert (note.actor, note.detail["text"]) == (L1, "Khách gọi lại tổng đài lúc 10h.")
    assert ("note", L1) in [(e.kind, e.actor) for e in desk.events()]


def test_plain_text_is_relayed_to_the_customer(desk: Desk) -> None:
    desk.complain()

    desk.agent(L1, "Anh vui lòng khởi động lại đầu thu và kiểm tra dây cáp.")

    assert desk.ticket().status == "l1"
    (relay,) = desk.outbox("relay")
    assert relay.to_address == CUSTOMER
    assert "khởi động lại đầu thu" in (relay.context or relay.body_text)
    assert desk.last_row().outcome == "agent_relay"


def test_reject_a_late_complaint_when_policy_allows(make_desk: MakeDesk) -> None:
    desk = make_desk(workflow={"reject_late": True})
    assert desk.complain(body=LATE_FEE).time_limit == "late"
    desk.agent(L1, "#escalate")

    desk.agent(L2, "#từ-chối Khiếu nại gửi sau thời hạn 01 tháng kể từ ngày thanh toán")

    ticket = desk.ticket()
    assert (ticket.status, ticket.closed_at, ticket.decided_at) == ("rejected", desk.clock(), desk.clock())
    assert ticket.decision_reason == "Khiếu nại gửi sau thời hạn 01 tháng kể từ ngày thanh toán"
    assert desk.sent_to("rejection") == [CUSTOMER]


def test_assign_gives_the_ticket_to_an_agent_who_is_told(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    desk.agent(L2, f"#giao {SUP}")

    ticket = desk.ticket()
    assert (ticket.status, ticket.assignee) == ("l2", SUP)
    (assign,) = [e for e in desk.events() if e.kind == "assign"]
    assert (assign.actor, assign.detail["arg"]) == (L2, SUP)
    assert desk.sent_to("agent_notice") == [L1, L2, SUP]


def test_a_supervisor_may_give_several_commands_at_once(desk: Desk) -> None:
    desk.complain()

    desk.agent(SUP, "#escalate\n#accept")

    assert desk.ticket().status == "accepted"
    assert [(e.kind, e.actor) for e in desk.events() if e.kind in ("escalate", "accept")] == [
        ("escalate", SUP), ("accept", SUP)]
    assert desk.sent_to("acceptance") == [CUSTOMER]


def test_consult_asks_the_department_and_its_answer_goes_to_l2(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    desk.agent(L2, "#phối-hợp Kỹ thuật\nĐề nghị kiểm tra lịch sử tín hiệu của thẻ.")
    assert desk.sent_to("consult") == [DEPT]
    desk.agent(DEPT, "Tín hiệu bình thường, lỗi do đầu thu.")

    assert desk.ticket().status == "l2"
    (answer,) = [e for e in desk.events() if e.kind == "consult_answer"]
    assert (answer.actor, answer.detail["text"]) == (DEPT, "Tín hiệu bình thường, lỗi do đầu thu.")
    assert desk.sent_to("agent_notice") == [L1, L2, L2]  # new, escalated, the department's answer
    assert desk.last_row().outcome == "consult_answer"
    assert desk.outbox("relay") == []  # the department never writes to the customer


# (commands to bring the ticket there, who refuses, the refused mail, part of the reason)
REFUSALS = [
    ([], L1, "#accept", "not allowed for role l1"),
    ([], L1, "#ghi-chú Đã gọi khách.\n#frobnicate", "#frobnicate: unknown command"),
    ([], L1, "#ghi-chú Đã gọi khách.\n\n#escalate", "must stand together"),
    (["#escalate"], L2, "#reject Không có căn cứ", "time limit"),
    (["#escalate"], L1, "#resolve Xong.", "not possible while the ticket is l2"),
    (["#escalate"], DEPT, "#accept", "a department may only answer"),
]


@pytest.mark.parametrize("setup,sender,body,reason", REFUSALS)
def test_a_refused_command_refuses_the_whole_mail(desk: Desk, setup: list[str], sender: str, body: str,
                                                  reason: str) -> None:
    desk.complain()
    for command in setup:
        desk.agent(L1, command)
    before = desk.snapshot()

    report = desk.agent(sender, body)

    assert report.agent_mail == 1
    tickets, events, outbox = desk.snapshot()
    assert tickets == before[0]  # nothing changed on the ticket
    assert events[:len(before[1])] == before[1]
    assert [kind for kind, _ in events[len(before[1]):]] == ["notice_queued", "command_refused"]
    assert outbox == [*before[2], ("command_refused", sender)]
    (refusal,) = [e for e in desk.events() if e.kind == "command_refused"]
    assert refusal.actor == sender and any(reason in r for r in refusal.detail["reasons"])
    assert desk.last_row().outcome == "agent_refused"


def test_a_refusal_lists_the_commands_allowed_now(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    desk.agent(L2, "#reject Không có căn cứ")

    (refused,) = desk.outbox("command_refused")
    assert refused.to_address == L2 and f"[{REF}]" in refused.subject
    text = refused.context or refused.body_text
    assert "#accept" in text and "time limit" in text


def test_assign_to_someone_who_is_not_an_agent_refuses_the_whole_mail(desk: Desk) -> None:
    desk.complain()

    desk.agent(L1, "#escalate\n#assign nobody@example.com")

    assert desk.ticket().status == "l1"  # the escalation in the same mail is not carried out
    assert desk.sent_to("command_refused") == [L1]


def test_consult_of_an_unknown_department_is_refused(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    desk.agent(L2, "#consult Pháp chế\nĐề nghị cho ý kiến về hợp đồng.")

    assert desk.sent_to("command_refused") == [L2]
    assert "command_refused" in desk.kinds()


def test_an_agent_mail_about_no_ticket_is_refused_and_makes_no_ticket(desk: Desk) -> None:
    desk.complain()

    desk.agent(L2, "#accept", ref="")

    assert len(desk.tickets()) == 1 and desk.ticket().status == "l1"
    (refused,) = desk.outbox("command_refused")
    assert (refused.to_address, refused.ticket_id) == (L2, None)
    row = desk.last_row()
    assert (row.status, row.outcome, row.ticket_id) == ("processed", "agent_refused", None)


@pytest.mark.parametrize("auth", [
    None,                                                            # no header at all
    "mx.evil.example; dkim=pass header.d=kplus.example; dmarc=pass",  # a server we do not trust
    f"{TRUSTED}; dkim=fail header.d=kplus.example; spf=softfail smtp.mailfrom=kplus.example",
    f"{TRUSTED}; dkim=pass header.d=gmail.com",                       # signed, but not by kplus.example
])
def test_unauthenticated_mail_from_an_agent_address_changes_nothing(desk: Desk, auth: str | None) -> None:
    desk.complain()
    before = desk.snapshot()

    report = desk.agent(L1, "#resolve\nĐã xử lý xong.", auth=auth)

    assert (report.agent_mail, report.replies) == (0, 1)
    tickets, events, outbox = desk.snapshot()
    assert tickets == before[0]
    # The queue's agents are shown the filed message, and that is all that goes out.
    assert [(kind, to) for kind, to, *_ in outbox[len(before[2]):]] == [("agent_notice", L1)]
    assert [kind for kind, _ in events[len(before[1]):]] == ["unauthenticated_agent_mail", "message_from_other_sender",
                                                          "notice_queued"]
    assert desk.filed()[-1].from_address == L1  # filed on the ticket all the same
    assert desk.last_row().outcome == f"joined {REF}"


def test_a_sent_folder_copy_is_filed_on_its_ticket_and_acts_on_nothing(desk: Desk) -> None:
    desk.complain()
    before = desk.snapshot()

    report = desk.agent(SHARED, "#resolve\nChúng tôi đã kích hoạt lại thẻ cho anh.", auth=None, folder="Sent")

    assert (report.processed, report.replies, report.agent_mail, report.ignored) == (1, 1, 0, 0)
    tickets, events, outbox = desk.snapshot()
    assert (tickets, outbox) == (before[0], before[2])
    assert [kind for kind, _ in events[len(before[1]):]] == ["agent_reply_sent"]
    copy = desk.filed()[-1]
    assert (copy.direction, copy.from_address) == ("out", SHARED)
    assert "kích hoạt lại thẻ" in copy.body_text
    row = desk.last_row()
    assert (row.status, row.outcome, row.ticket_id) == ("processed", "sent_copy", desk.ticket().id)


def test_the_platforms_copy_of_our_own_receipt_in_sent_is_not_an_agent_reply(desk: Desk) -> None:
    """Exchange Online and Gmail keep a copy of mail submitted over SMTP in Sent: the copy of
    a receipt must not be filed as an agent's reply."""
    desk.complain()
    [receipt] = desk.outbox("receipt")
    before = desk.snapshot()
    copy = message(sender=SHARED, to=CUSTOMER, subject=receipt.subject, body="Phiếu tiếp nhận khiếu nại",
                   message_id=f"<{receipt.message_id}>", headers={"X-Mailproc-Ref": REF}).as_bytes()
    desk.store(copy, folder="Sent")

    report = desk.app.process_once()

    assert (report.processed, report.ignored, report.replies) == (1, 1, 0)
    assert desk.snapshot() == before
    row = desk.last_row()
    assert (row.status, row.outcome) == ("ignored", "own notice (the platform's copy in Sent)")


def test_a_sent_folder_copy_about_no_ticket_is_ignored(desk: Desk) -> None:
    report = desk.agent(SHARED, "Chào anh, K+ xin gửi lịch bảo trì.", ref="", auth=None, folder="Sent")

    assert (report.processed, report.ignored, report.created) == (1, 1, 0)
    assert desk.tickets() == [] and desk.outbox() == []
    row = desk.last_row()
    assert (row.status, row.outcome) == ("ignored", "sent_copy_no_ticket")


def test_the_sent_folder_is_the_configured_one(make_desk: MakeDesk) -> None:
    desk = make_desk(imap={"sent_folder": "Đã gửi"})
    desk.complain()

    desk.agent(SHARED, "Trả lời khách.", auth=None, folder="Đã gửi")
    desk.agent(SHARED, "Trả lời khách lần nữa.", auth=None, folder="Sent")

    assert [m.direction for m in desk.filed()] == ["in", "out"]
    assert desk.last_row().status == "ignored"  # "Sent" is an ordinary folder here: our own mail
