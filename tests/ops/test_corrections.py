"""Which corrected fields label a ticket's original mail (corrections export): the ones the mail
carries, by extraction's record or by the agent's value written in it."""

from __future__ import annotations

from typing import Any

import pytest

from mailproc.ops.corrections import labels_for, written_in
from mailproc.store.models import Ticket

TEXT = ("Mất sóng K+\nTôi tên Nguyễn Văn An, nhà ở 12 Lý Thường Kiệt, Hà Nội. Số thẻ 8401-2345-6789, "
        "đầu thu k23a 004 5871, sđt 0912.345.678, từ ngày 28 tháng 10.")


@pytest.mark.parametrize(("field", "value", "written"), [
    ("phone", "+84912345678", True),
    ("phone", "+84987000111", False),
    ("smartcard", "840123456789", True),
    ("decoder", "K23A0045871", True),
    ("name", "Nguyễn Văn An", True),
    ("name", "Trần Thị Mai", False),
    ("address", "12 Lý Thường Kiệt, Hà Nội", True),
    ("email", "an@gmail.com", False),
    ("incident_date", "2026-10-28", True),
    ("incident_date", "2026-10-27", False),
])
def test_written_in(field: str, value: str, written: bool) -> None:
    assert written_in(field, value, TEXT) is written


def _set(field: str, new: str) -> dict[str, Any]:
    return {"field": field, "old": None, "new": new}


def test_the_label_holds_the_last_value_of_each_field_the_mail_carries() -> None:
    ticket = Ticket(province="Thành phố Hà Nội", ward=None)
    found = {"phone": "+84912345678", "smartcard": None, "category": "other", "provenance": {}}
    corrections = [_set("phone", "+84987000111"), _set("phone", "+84912345679"),  # the last one counts
                   _set("smartcard", "840123456789"),  # missed by extraction, written in the mail
                   _set("email", "an@gmail.com"),  # learnt elsewhere: not the mail's
                   _set("category", "fee"), _set("address", "12 Lý Thường Kiệt, Hà Nội")]
    assert labels_for(corrections, found, TEXT, ticket) == {
        "phone": "+84912345679", "smartcard": "840123456789", "category": "fee",
        "address": "12 Lý Thường Kiệt, Hà Nội", "province": "Thành phố Hà Nội"}


def test_a_ticket_from_before_records_were_kept_labels_only_what_is_written() -> None:
    corrections = [_set("phone", "+84912345678"), _set("category", "fee"), _set("decoder", "ZZ99887766")]
    assert labels_for(corrections, None, TEXT, Ticket()) == {"phone": "+84912345678"}
