"""What a ticket keeps of extraction beyond the values (issue 14), on a database only: the
province and ward its address names (2025 units, pre-2025 ones mapped), and per identifier
where it was found and how sure it is, so that a customer's surer reply replaces an unsure
value and never a sure one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.store.models import Event, Ticket
from tests.helpers import Clock
from tests.helpers.mail import complaint, message
from tests.workflow.test_writer_db import CUSTOMER, SHARED, Desk, build_desk

# A card by its shape alone (low confidence), a labelled phone and an address in the old
# three-level form (Hàng Bài and Hoàn Kiếm became Phường Cửa Nam in 2025).
UNSURE_CARD = ("Nhà em mất sóng từ hôm 30/10/2026. Thẻ 8012 3456 7890. Số điện thoại 0987 654 321.\n"
               "Địa chỉ: 12 Lý Thường Kiệt, P. Hàng Bài, Q. Hoàn Kiếm, Hà Nội")
SURE_CARD = ("Tôi bị mất kênh K+ từ hôm 30/10/2026. Số điện thoại 0987 654 321. Số thẻ: 8401 2345 6789.\n"
             "Địa chỉ: số 5 ấp 3, xã Tân Thạnh Đông, huyện Củ Chi, TP.HCM")


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    built = build_desk(database_url, tmp_path, clock)
    yield built
    built.app.close()


def _events(desk: Desk, kind: str) -> list[dict[str, Any]]:
    with desk.app.sessions() as session:
        return [e.detail for e in session.scalars(select(Event).where(Event.kind == kind).order_by(Event.id))]


def _reply(desk: Desk, body: str, kind: str) -> None:
    (notice,) = desk.outbox(kind)
    desk.clock.advance(hours=2)
    desk.store(message(sender=CUSTOMER, to=SHARED, subject=f"Re: {notice.subject}", body=body,
                       headers={"In-Reply-To": f"<{notice.message_id}>"}).as_bytes())
    desk.app.process_once()


def test_the_ticket_keeps_the_place_and_where_each_value_came_from(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=UNSURE_CARD))
    desk.app.process_once()

    ticket = desk.ticket()
    assert ticket.address == "12 Lý Thường Kiệt, P. Hàng Bài, Q. Hoàn Kiếm, Hà Nội"  # as written
    assert (ticket.province, ticket.province_code, ticket.ward, ticket.ward_code) == (
        "Thành phố Hà Nội", 1, "Phường Cửa Nam", 73)
    assert ticket.identifier_provenance["smartcard"] == "shape"
    assert ticket.identifier_confidence == {"address": "high", "phone": "high", "incident_date": "high",
                                            "smartcard": "low", "email": "high"}  # e-mail: the From header
    assert ticket.identifier_provenance["email"] == "header"
    # The unsure card is asked for again, and kept for the agent.
    assert (ticket.status, ticket.missing, ticket.smartcard) == ("assessing", ["card_or_decoder"], "801234567890")
    (received,) = _events(desk, "received")
    assert received["found"]["provenance"]["smartcard"] == "shape"
    assert received["found"]["confidence"]["smartcard"] == "low"
    assert (received["found"]["smartcard"], received["found"]["ward"]) == ("801234567890", "Phường Cửa Nam")


def test_a_surer_value_in_the_customers_reply_replaces_an_unsure_one(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=UNSURE_CARD))
    desk.app.process_once()

    _reply(desk, "Số thẻ giải mã của tôi là 8401 2345 6789", "need_info")

    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.missing, ticket.smartcard) == ("l1", "L1", [], "840123456789")
    assert (ticket.identifier_provenance["smartcard"], ticket.identifier_confidence["smartcard"]) == (
        "prose", "medium")
    assert ticket.identifier_confidence["phone"] == "high"  # the rest kept
    assert ticket.ward == "Phường Cửa Nam"
    (added,) = _events(desk, "identifiers_added")
    assert added == {"fields": ["smartcard"], "replaced": ["smartcard"],
                     "sources": {"smartcard": {"provenance": "prose", "confidence": "medium"}}}


def test_a_reply_that_brings_no_surer_value_leaves_the_unsure_one_asked_for(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=UNSURE_CARD))
    desk.app.process_once()

    _reply(desk, "Tôi đã gửi rồi mà.", "need_info")

    ticket = desk.ticket()
    assert (ticket.status, ticket.missing, ticket.smartcard) == ("assessing", ["card_or_decoder"], "801234567890")
    assert ticket.identifier_confidence["smartcard"] == "low"
    assert [o.kind for o in desk.outbox()] == ["need_info", "need_info"]


def test_a_sure_value_is_never_replaced_by_the_reply_but_the_difference_is_recorded(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=SURE_CARD))
    desk.app.process_once()
    assert (desk.ticket().status, desk.ticket().province, desk.ticket().ward) == (
        "l1", "Thành phố Hồ Chí Minh", "Xã Phú Hòa Đông")

    _reply(desk, "Số thẻ: 8401 9999 0000. Số điện thoại 0912 345 678.", "receipt")

    ticket = desk.ticket()
    assert (ticket.smartcard, ticket.phone) == ("840123456789", "+84987654321")
    assert _events(desk, "identifiers_added") == []
    (differ,) = _events(desk, "identifiers_differ")
    assert differ["fields"] == ["phone", "smartcard"]


def test_a_reply_with_only_the_tag_replaces_nothing_even_when_surer(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=UNSURE_CARD))
    desk.app.process_once()
    desk.store(message(sender=CUSTOMER, to=SHARED, subject="Re: [KP-2026-000001] V/v Tiếp nhận khiếu nại",
                       body="Số thẻ giải mã: 8401 2345 6789").as_bytes())
    desk.app.process_once()

    ticket = desk.ticket()
    assert (ticket.status, ticket.smartcard, ticket.identifier_confidence["smartcard"]) == (
        "assessing", "801234567890", "low")


def test_tickets_from_before_the_migration_count_their_values_as_sure(desk: Desk) -> None:
    desk.store(complaint(sender=CUSTOMER, body=UNSURE_CARD))
    desk.app.process_once()
    with desk.app.sessions() as session:  # as 0006 leaves an older ticket: no sources known
        ticket = session.scalars(select(Ticket)).one()
        ticket.identifier_provenance, ticket.identifier_confidence = {}, {}
        session.commit()

    _reply(desk, "Số thẻ giải mã của tôi là 8401 2345 6789", "need_info")

    assert desk.ticket().smartcard == "801234567890"  # kept: nothing said it was unsure
