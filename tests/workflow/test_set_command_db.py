"""``#set FIELD VALUE`` (``#sửa``, ``#cập-nhật``) on a database only: an agent corrects a
ticket's identifier by mail; the event keeps the old and the new value; the value is sure and
from the agent; a completed ticket goes on to level 1 through the state machine."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from tests.workflow.test_agent_mail_db import CUSTOMER, L1, L2, LATE_FEE, REF, SUP, Desk, MakeDesk

NO_CARD = "Tôi bị mất kênh K+ Sport 1 từ hôm 30/10/2026. Số điện thoại 0987 654 321."


def _refused(desk: Desk) -> str:
    """What the last refusal tells the agent (its template context until rendered)."""
    refusal = desk.outbox("command_refused")[-1]
    return refusal.context or refusal.body_text


def _set_events(desk: Desk) -> list[dict[str, object]]:
    return [{"actor": e.actor, **e.detail} for e in desk.events() if e.kind == "identifier_set"]


@pytest.mark.parametrize("spelling", ["#set phone", "#sửa sđt", "#cập nhật số điện thoại:"])
def test_an_agent_sets_the_phone(desk: Desk, spelling: str, caplog: pytest.LogCaptureFixture) -> None:
    desk.complain()
    before = desk.ticket()
    caplog.set_level(logging.DEBUG)

    desk.agent(L1, f"{spelling} 0987 000 111\nKhách gọi báo số mới.")

    ticket = desk.ticket()
    assert (ticket.phone, ticket.status, ticket.queue) == ("+84987000111", before.status, before.queue)
    assert (ticket.identifier_provenance["phone"], ticket.identifier_confidence["phone"]) == ("agent", "high")
    assert _set_events(desk) == [{"actor": L1, "field": "phone", "old": "+84912345678", "new": "+84987000111",
                                  "provenance": "agent", "confidence": "high"}]
    assert "note_text" in desk.kinds()  # the line after the command stays internal
    assert desk.sent_to("command_refused") == []
    assert [o.kind for o in desk.outbox() if o.to_address == CUSTOMER] == ["receipt"]  # the customer is not told
    assert "0987000111" not in caplog.text and "987000111" not in caplog.text


def test_an_invalid_value_is_refused_with_the_reason_and_changes_nothing(desk: Desk) -> None:
    desk.complain()
    before = desk.snapshot()

    desk.agent(L1, "#sửa sđt 1900 1592")

    (refusal,) = desk.outbox("command_refused")
    assert refusal.to_address == L1
    assert "'1900 1592' is not a valid phone" in _refused(desk)
    assert desk.ticket().phone == "+84912345678"
    assert _set_events(desk) == []
    assert desk.snapshot()[0] == before[0]


@pytest.mark.parametrize(("body", "why"), [
    ("#set colour red", "unknown field 'colour'"),
    ("#set category refund", "one of: fee, other"),
    ("#set phone", "needs a field and a value"),
    ("#set\n", "needs a field and a value"),
])
def test_unknown_fields_and_values_are_refused(desk: Desk, body: str, why: str) -> None:
    desk.complain()
    desk.agent(L1, body)
    assert len(desk.outbox("command_refused")) == 1
    assert why in _refused(desk)
    assert _set_events(desk) == []


def test_only_the_queues_agents_and_supervisors_may_set(desk: Desk) -> None:
    desk.complain()

    desk.agent(L2, "#set phone 0987 000 111")  # the ticket is level 1's

    (refusal,) = desk.outbox("command_refused")
    assert refusal.to_address == L2 and "only its queue's agents and supervisors" in _refused(desk)
    desk.agent(SUP, "#set phone 0987 000 111")
    assert desk.ticket().phone == "+84987000111"


def test_setting_the_missing_identifier_completes_the_ticket(desk: Desk) -> None:
    desk.complain(body=NO_CARD)
    assert (desk.ticket().status, desk.ticket().missing) == ("assessing", ["card_or_decoder"])

    desk.agent(L1, "#sửa số thẻ 8401 2345 6789")

    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.missing, ticket.smartcard) == ("l1", "L1", [], "840123456789")
    assert "missing_info" not in ticket.flags
    kinds = desk.kinds()
    assert kinds[kinds.index("identifier_set"):][:3] == ["identifier_set", "info_complete", "routed"]
    assert [o.kind for o in desk.outbox() if o.to_address == CUSTOMER] == ["need_info", "receipt"]


def test_a_set_that_leaves_something_missing_keeps_the_ticket_assessing(desk: Desk) -> None:
    desk.complain(body="Nhà em mất sóng. Số thẻ: 8401 2345 6789.")
    assert desk.ticket().missing == ["phone"]

    desk.agent(L1, "#set name Nguyễn Văn An")

    ticket = desk.ticket()
    assert (ticket.status, ticket.missing, ticket.name) == ("assessing", ["phone"], "Nguyễn Văn An")
    assert [o.kind for o in desk.outbox() if o.to_address == CUSTOMER] == ["need_info"]


def test_setting_the_date_judges_the_time_limit_again(make_desk: MakeDesk) -> None:
    desk = make_desk(workflow={"reject_late": True})
    assert desk.complain(body=LATE_FEE).time_limit == "late"

    desk.agent(L1, "#set ngày 28/10/2026\n#escalate")

    ticket = desk.ticket()
    assert (ticket.incident_date, ticket.time_limit, ticket.status) == (date(2026, 10, 28), "in_time", "l2")
    assert "late" not in ticket.flags
    (event,) = _set_events(desk)
    assert (event["old"], event["new"], event["time_limit"]) == ("2025-10-05", "2026-10-28", "in_time")
    desk.agent(L2, "#reject Quá hạn")  # no longer late: a rejection is refused
    assert "may be rejected only" in _refused(desk)


def test_setting_the_address_recognises_its_place(desk: Desk) -> None:
    desk.complain()

    desk.agent(L1, "#set địa chỉ 12 Lý Thường Kiệt, P. Hàng Bài, Q. Hoàn Kiếm, Hà Nội")

    ticket = desk.ticket()
    assert (ticket.province, ticket.ward) == ("Thành phố Hà Nội", "Phường Cửa Nam")
    desk.agent(L1, "#set address somewhere unknown 12")
    assert (desk.ticket().province, desk.ticket().ward) == (None, None)


def test_a_set_on_a_closed_ticket_is_refused(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#resolve\nĐã kích hoạt lại thẻ.")

    desk.agent(L1, "#set phone 0987 000 111")

    assert "not possible while the ticket is closed" in _refused(desk)
    assert desk.ticket(REF).phone == "+84912345678"
