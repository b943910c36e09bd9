"""The batch writer on a database only: stored inbound rows in, tickets, events and outbox rows out.

No IMAP and no SMTP: each test stores raw mail as the poller would (an ``inbound_messages``
row and its ``inbound_raw`` bytes), runs ``App.process_once()`` with a clock moved by hand,
and reads the tables back. The end-to-end versions of these checks, on the real servers, are
in ``tests/test_pipeline.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.store.models import Event, InboundMessage, InboundRaw, Ticket, TicketMessage
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk, desk_app
from tests.helpers.mail import complaint, message, new_id

SHARED = "cskh@kplus.example"
CUSTOMER = "an.nguyen@gmail.com"
# A complaint without a smart-card or decoder number: the ticket waits in "assessing".
NO_CARD = "Tôi bị mất kênh K+ Sport 1 từ hôm 30/10/2026. Số điện thoại 0987 654 321."


class Desk(BaseDesk):
    """One test's mailproc without a mail server: store mail as the poller would, process it,
    read the rows back."""

    def tickets(self) -> list[Ticket]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def ticket(self) -> Ticket:
        (only,) = self.tickets()
        return only

    def events(self, ticket_id: int) -> list[str]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Event.kind).where(Event.ticket_id == ticket_id).order_by(Event.id)))

    def inbound(self) -> list[InboundMessage]:
        with self.app.sessions() as session:
            return list(session.scalars(select(InboundMessage).order_by(InboundMessage.id)))

    def filed(self, ticket_id: int) -> list[TicketMessage]:
        with self.app.sessions() as session:
            return list(session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
                                        .order_by(TicketMessage.id)))


def build_desk(database_url: str, tmp_path: Path, clock: Clock, **sections: dict[str, Any]) -> Desk:
    return Desk(desk_app(database_url, tmp_path, clock, {"smtp": {"from_address": SHARED}}, **sections), clock)


MakeDesk = Callable[..., Desk]


@pytest.fixture
def make_desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[MakeDesk]:
    """``make_desk(**sections)``: a desk with some config sections changed (closed afterwards)."""
    built: list[Desk] = []

    def make(**sections: dict[str, Any]) -> Desk:
        built.append(build_desk(database_url, tmp_path, clock, **sections))
        return built[-1]

    yield make
    for desk in built:
        desk.app.close()


@pytest.fixture
def desk(make_desk: MakeDesk) -> Desk:
    return make_desk()


def test_each_complaint_becomes_one_ticket_with_its_receipt_or_request(desk: Desk) -> None:
    complete_id, incomplete_id = new_id(), new_id()
    desk.store(complaint(sender=f"Nguyễn Văn An <{CUSTOMER}>", message_id=complete_id))
    desk.store(complaint(sender="binh.tran@gmail.com", message_id=incomplete_id, body=NO_CARD))

    report = desk.app.process_once()

    assert (report.processed, report.created, report.replies, report.ignored, report.quarantined) == (2, 2, 0, 0, 0)
    first, second = desk.tickets()
    assert (first.ref, first.status, first.queue, first.missing) == ("KP-2026-000001", "l1", "L1", [])
    assert (first.phone, first.smartcard, first.customer_address) == ("+84912345678", "012345678901", CUSTOMER)
    assert (second.ref, second.status, second.queue) == ("KP-2026-000002", "assessing", None)
    assert second.missing == ["card_or_decoder"] and "missing_info" in second.flags
    assert [(o.ticket_id, o.kind, o.to_address, o.status) for o in desk.outbox()] == [
        (first.id, "receipt", CUSTOMER, "queued"), (second.id, "need_info", "binh.tran@gmail.com", "queued")]
    receipt, request = desk.outbox()
    assert receipt.in_reply_to == complete_id.strip("<>") and request.in_reply_to == incomplete_id.strip("<>")
    assert receipt.subject.startswith("[KP-2026-000001]") and request.subject.startswith("[KP-2026-000002]")
    # Written by the same transaction: one `now`, and the ticket's log names the queued notice.
    assert first.created_at == receipt.created_at == desk.clock()
    assert desk.events(first.id) == ["received", "assessed", "routed", "notice_queued"]
    assert desk.events(second.id) == ["received", "assessed", "notice_queued"]
    with desk.app.sessions() as session:
        queued = session.scalar(select(Event).where(Event.ticket_id == first.id, Event.kind == "notice_queued"))
        assert queued is not None and queued.detail["message_id"] == receipt.message_id
    rows = desk.inbound()
    assert [(r.status, r.outcome, r.ticket_id, r.attempts) for r in rows] == [
        ("processed", "created KP-2026-000001", first.id, 1), ("processed", "created KP-2026-000002", second.id, 1)]
    assert [len(desk.filed(t.id)) for t in (first, second)] == [1, 1]


def test_a_customer_reply_to_our_request_fills_in_what_was_missing(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=NO_CARD))
    desk.app.process_once()
    (request,) = desk.outbox("need_info")
    desk.clock.advance(hours=3)
    desk.store(message(sender=CUSTOMER, to=SHARED, subject=f"Trả lời: {request.subject}",
                       body="Số thẻ giải mã của tôi là 8401 2345 6789\n\n> Kính gửi Quý khách ...",
                       headers={"In-Reply-To": f"<{request.message_id}>"}).as_bytes())

    report = desk.app.process_once()

    assert (report.processed, report.created, report.replies) == (1, 0, 1)
    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.missing, ticket.smartcard) == ("l1", "L1", [], "840123456789")
    assert "missing_info" not in ticket.flags
    assert ticket.updated_at == desk.clock()
    assert [o.kind for o in desk.outbox()] == ["need_info", "receipt"]
    events = desk.events(ticket.id)
    assert events[events.index("customer_reply"):] == [
        "customer_reply", "identifiers_added", "info_complete", "routed", "notice_queued"]
    assert desk.inbound()[-1].outcome == f"joined {ticket.ref}"
    assert [m.body_text.strip() for m in desk.filed(ticket.id)][-1] == "Số thẻ giải mã của tôi là 8401 2345 6789"


def test_a_reply_that_still_misses_something_is_asked_again(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=NO_CARD))
    desk.app.process_once()
    (request,) = desk.outbox("need_info")
    desk.store(message(sender=CUSTOMER, to=SHARED, subject=f"Re: {request.subject}", body="Tôi không nhớ số thẻ.",
                       headers={"In-Reply-To": f"<{request.message_id}>"}).as_bytes())

    desk.app.process_once()

    ticket = desk.ticket()
    assert (ticket.status, ticket.missing) == ("assessing", ["card_or_decoder"])
    assert [o.kind for o in desk.outbox()] == ["need_info", "need_info"]


def test_a_message_with_only_the_tag_is_filed_but_proves_nothing(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=NO_CARD))
    desk.app.process_once()
    # No threading headers at all: only the tag (which anyone can type) says which ticket it is,
    # and the From (which anyone can forge) says it is the customer.
    desk.store(message(sender=CUSTOMER, to=SHARED, subject="Re: [KP-2026-000001] V/v Tiếp nhận khiếu nại",
                       body="Số thẻ của tôi: 8401 2345 6789. SĐT mới: 0987 000 111.").as_bytes())

    report = desk.app.process_once()

    assert (report.created, report.replies) == (0, 1)
    ticket = desk.ticket()
    assert (ticket.status, ticket.smartcard) == ("assessing", None)  # filled in nothing
    assert [m.from_address for m in desk.filed(ticket.id)] == [CUSTOMER, CUSTOMER]
    assert desk.events(ticket.id)[-1] == "unverified_reply"
    assert [o.kind for o in desk.outbox()] == ["need_info"]  # no agents configured: nobody else to tell


def test_a_reply_to_our_request_or_to_the_customers_own_mail_proves_itself(desk: Desk) -> None:
    first = new_id()
    desk.store(complaint(sender=CUSTOMER, body=NO_CARD, message_id=first))
    desk.app.process_once()
    # A follow-up to the customer's own complaint (In-Reply-To its Message-ID) continues it.
    desk.store(message(sender=CUSTOMER, to=SHARED, subject="Bổ sung", body="Số thẻ: 8401 2345 6789.",
                       headers={"In-Reply-To": first}).as_bytes())

    desk.app.process_once()

    assert (desk.ticket().status, desk.ticket().smartcard) == ("l1", "840123456789")


def test_a_message_from_another_address_is_filed_but_changes_nothing(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=NO_CARD))
    desk.app.process_once()
    desk.store(message(sender="em.gai@gmail.com", to=SHARED, subject="Chuyển tiếp: [KP-2026-000001] Mất kênh",
                       body="Em gửi giúp anh An: số thẻ 8401 2345 6789.").as_bytes())

    report = desk.app.process_once()

    assert (report.created, report.replies) == (0, 1)
    ticket = desk.ticket()
    assert (ticket.status, ticket.smartcard, ticket.missing) == ("assessing", None, ["card_or_decoder"])
    assert [m.from_address for m in desk.filed(ticket.id)] == [CUSTOMER, "em.gai@gmail.com"]
    assert desk.events(ticket.id)[-1] == "message_from_other_sender"
    assert [o.kind for o in desk.outbox()] == ["need_info"]
    assert desk.inbound()[-1].ticket_id == ticket.id


@pytest.mark.parametrize("headers,subject,rule", [
    ({"Auto-Submitted": "auto-replied"}, "Re: [KP-2026-000001] V/v Tiếp nhận khiếu nại", "auto_submitted"),
    ({"Precedence": "bulk"}, "Mất sóng", "precedence"),
    ({}, "Trả lời tự động: Tôi đang nghỉ phép", "out_of_office_subject"),
])
def test_automatic_mail_is_ignored_with_the_rule_that_matched(desk: Desk, headers: dict[str, str], subject: str,
                                                              rule: str) -> None:
    desk.store(complaint(sender=CUSTOMER))
    desk.app.process_once()
    desk.store(message(sender=CUSTOMER, to=SHARED, subject=subject, headers=headers,
                       body="Số thẻ 8401 2345 6789, SĐT 0987654321").as_bytes())

    report = desk.app.process_once()

    assert (report.processed, report.ignored, report.created, report.replies) == (1, 1, 0, 0)
    row = desk.inbound()[-1]
    assert (row.status, row.ticket_id, row.error) == ("ignored", None, None)
    assert (row.outcome or "").startswith(f"{rule}: ")
    ticket = desk.ticket()
    assert ticket.smartcard == "012345678901"  # the auto-reply's number was not taken
    assert len(desk.filed(ticket.id)) == 1
    assert [o.kind for o in desk.outbox()] == ["receipt"]


def test_a_message_that_cannot_be_analysed_is_quarantined_and_the_rest_of_its_batch_go_on(make_desk: MakeDesk) -> None:
    desk = make_desk(parsing={"max_message_bytes": 20_000})
    huge = complaint(sender="khac@example.vn", body="Mất sóng. " + "x" * 30_000)
    ids = [desk.store(complaint(sender=CUSTOMER)), desk.store(huge),
           desk.store(complaint(sender="binh.tran@gmail.com", phone="0987000111"))]

    report = desk.app.process_once()

    assert (report.processed, report.created, report.quarantined) == (3, 2, 1)
    rows = desk.inbound()
    assert [r.id for r in rows] == ids
    assert [r.status for r in rows] == ["processed", "quarantined", "processed"]
    assert (rows[1].outcome, rows[1].ticket_id) == ("quarantined", None)
    assert f"{len(huge)} bytes exceeds 20000" in (rows[1].error or "")
    with desk.app.sessions() as session:
        stored = session.get(InboundRaw, ids[1])
        assert stored is not None and stored.raw == huge  # the bytes are kept for a retry
    assert [t.customer_address for t in desk.tickets()] == [CUSTOMER, "binh.tran@gmail.com"]
    assert [o.to_address for o in desk.outbox("receipt")] == [CUSTOMER, "binh.tran@gmail.com"]


def test_a_complaint_and_its_follow_up_in_one_batch_make_one_complete_ticket(desk: Desk) -> None:
    first_id = new_id()
    desk.store(complaint(sender=CUSTOMER, message_id=first_id, body=NO_CARD))
    desk.store(message(sender=CUSTOMER, to=SHARED, subject="Re: Mất sóng K+ từ 3 ngày nay",
                       body="Tôi bổ sung: số thẻ giải mã 8401 2345 6789",
                       headers={"In-Reply-To": first_id}).as_bytes())

    report = desk.app.process_once()

    assert (report.processed, report.created, report.replies) == (2, 1, 1)
    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.missing, ticket.smartcard) == ("l1", "L1", [], "840123456789")
    assert ticket.phone == "+84987654321" and ticket.reopened == 0
    events = desk.events(ticket.id)
    assert events.index("received") < events.index("customer_reply") < events.index("info_complete")
    assert [r.ticket_id for r in desk.inbound()] == [ticket.id, ticket.id]
    assert len(desk.filed(ticket.id)) == 2
    assert [o.kind for o in desk.outbox()] == ["need_info", "receipt"]


def test_processing_again_does_nothing(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER))
    desk.store(complaint(sender="binh.tran@gmail.com", body=NO_CARD))
    desk.store(message(sender=CUSTOMER, to=SHARED, subject="Tự động", body="...",
                       headers={"Auto-Submitted": "auto-replied"}).as_bytes())
    first = desk.app.process_once()
    before = ([(t.id, t.status, t.updated_at) for t in desk.tickets()], [o.id for o in desk.outbox()])
    desk.clock.advance(minutes=5)

    again = desk.app.process_once()

    assert (first.processed, again.processed, again.created, again.replies, again.ignored) == (3, 0, 0, 0, 0)
    assert ([(t.id, t.status, t.updated_at) for t in desk.tickets()], [o.id for o in desk.outbox()]) == before
    assert [(r.status, r.attempts) for r in desk.inbound()] == [("processed", 1), ("processed", 1), ("ignored", 1)]
    with desk.app.sessions() as session:
        assert len(session.scalars(select(TicketMessage)).all()) == 2


def test_a_flooding_sender_gets_at_most_the_hourly_cap_of_automatic_replies(make_desk: MakeDesk) -> None:
    desk = make_desk(notices={"max_per_sender_per_hour": 3})
    for i in range(5):
        desk.store(complaint(sender=CUSTOMER, phone=f"09123456{i:02d}", card=f"0123 4567 89{i:02d}"))

    report = desk.app.process_once()

    tickets = desk.tickets()
    assert report.created == 5 and len(tickets) == 5  # every complaint is still a ticket
    assert [o.ticket_id for o in desk.outbox()] == [t.id for t in tickets[:3]]
    assert ["rate_limited" in t.flags for t in tickets] == [False, False, False, True, True]
    assert "notice_suppressed" in desk.events(tickets[3].id)
    assert "notice_queued" not in desk.events(tickets[3].id)
    desk.clock.advance(hours=1, minutes=1)
    desk.store(complaint(sender=CUSTOMER, phone="0912000111", card="0123 4567 8999"))
    desk.app.process_once()
    assert [o.kind for o in desk.outbox()] == ["receipt"] * 4
    assert "rate_limited" not in desk.tickets()[-1].flags


def test_the_cap_counts_per_sender(make_desk: MakeDesk) -> None:
    desk = make_desk(notices={"max_per_sender_per_hour": 1})
    for sender in (CUSTOMER, CUSTOMER, "binh.tran@gmail.com"):
        desk.store(complaint(sender=sender))

    desk.app.process_once()

    assert [o.to_address for o in desk.outbox()] == [CUSTOMER, "binh.tran@gmail.com"]
    assert ["rate_limited" in t.flags for t in desk.tickets()] == [False, True, False]


def test_one_hostile_value_costs_a_cut_field_not_the_batch(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    """A 400-character address (PostgreSQL's column holds 320) and a NUL byte in a Message-ID
    (PostgreSQL refuses NUL in text) used to fail the whole batch's write, and the warning
    printed the other customers' data."""
    long_local = "a" * 390
    hostile = [
        complaint(sender=f"Khách <{long_local}@example.vn>", name="Khách Dài"),
        complaint(sender="Khách Nul <nul@example.vn>", name="Khách Nul", message_id="<nul\x00byte@example.vn>"),
    ]
    others = [complaint(sender=f"Khach {i} <khach{i}@example.vn>", name=f"Trần Văn Bảo {i}",
                        phone=f"091234{i:04d}") for i in range(3)]
    for raw in (*hostile, *others):
        desk.store(raw)

    report = desk.app.process_once()

    assert (report.created, report.quarantined) == (5, 0)
    tickets = desk.tickets()
    assert len(tickets) == 5
    assert any(t.customer_address.startswith(long_local[:100]) for t in tickets)
    assert all(len(t.customer_address) <= 320 for t in tickets)
    for i in range(3):  # nothing of another customer in any log line
        assert f"khach{i}@example.vn" not in caplog.text and f"Trần Văn Bảo {i}" not in caplog.text


def test_the_caps_count_the_person_not_the_string(make_desk: MakeDesk) -> None:
    desk = make_desk(notices={"max_per_sender_per_hour": 3})
    spellings = ["victim@gmail.com", "victim+1@gmail.com", "Victim+2@Gmail.com", "v.i.c.t.i.m@gmail.com",
                 "vic.tim+x@googlemail.com", "victim+3@gmail.com"]
    for i, address in enumerate(spellings):
        desk.store(complaint(sender=address, phone=f"09120000{i:02d}"))

    desk.app.process_once()

    assert len(desk.outbox()) == 3  # one person: three receipts, not six
    assert sum("rate_limited" in t.flags for t in desk.tickets()) == 3


def test_the_caps_count_a_domain_and_everyone_together(make_desk: MakeDesk) -> None:
    desk = make_desk(notices={"max_per_domain_per_hour": 2, "max_automatic_per_hour": 3})
    for i in range(3):
        desk.store(complaint(sender=f"a{i}@attacker.example", phone=f"09130000{i:02d}"))
    for i in range(3):
        desk.store(complaint(sender=f"b{i}@elsewhere{i}.example", phone=f"09140000{i:02d}"))

    desk.app.process_once()

    to = [o.to_address for o in desk.outbox()]
    assert sum(a.endswith("@attacker.example") for a in to) == 2  # the domain's cap
    assert len(to) == 3  # everyone's cap


def test_no_link_of_the_customers_goes_back_out(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, subject="Xem http://evil.example/nap-tien và www.evil.vn",
                         body="Vào http://evil.example/login để nhận quà. Số thẻ 0123 4567 8901, SĐT 0912345678"))
    desk.app.process_once()
    [receipt] = desk.outbox()
    assert "http://" not in receipt.subject and "www.evil" not in receipt.subject
    assert "http[:]//evil.example" in receipt.subject
    assert receipt.context is not None and "http://evil" not in receipt.context


def test_a_sender_failing_dmarc_gets_a_receipt_without_their_text(make_desk: MakeDesk) -> None:
    desk = make_desk(auth={"trusted_authserv_ids": ["mx.kplus.example"]})
    forged = {"Authentication-Results": "mx.kplus.example; spf=fail smtp.mailfrom=bank.example; "
                                        "dmarc=fail header.from=bank.example"}
    desk.store(complaint(sender="Ngân hàng <canhbao@bank.example>", subject="Tài khoản bị khóa: gọi 0999 888 777",
                         body="Xác minh tại evil example chấm com ngay", headers=forged))
    desk.app.process_once()
    [receipt] = desk.outbox()
    assert "Tài khoản bị khóa" not in receipt.subject and "0999" not in receipt.subject
    assert receipt.context is not None
    assert "Xác minh" not in receipt.context and "Ngân hàng" not in receipt.context
