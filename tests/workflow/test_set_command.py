"""``#set FIELD VALUE`` (``#sửa``, ``#cập-nhật``): an agent's correction of an identifier, read and
validated as extraction stores it (phone E.164, card digits, decoder upper case)."""

from __future__ import annotations

import pytest

from mailproc.config import ExtractConfig
from mailproc.workflow.commands import Correction, CorrectionError, is_set_command, parse_commands, parse_correction

CONFIG = ExtractConfig()


@pytest.mark.parametrize(("arg", "field", "value"), [
    ("phone 0912 345 678", "phone", "+84912345678"),
    ("sđt: 0912.345.678", "phone", "+84912345678"),
    ("SĐT 01662345678", "phone", "+84362345678"),
    ("số-thẻ 8401 2345 6789", "smartcard", "840123456789"),
    ("card=8401-2345-6789", "smartcard", "840123456789"),
    ("đầu-thu k23a 0045871", "decoder", "K23A0045871"),
    ("decoder stb-2024-00123", "decoder", "STB-2024-00123"),
    ("email Lan.Vu@Outlook.com", "email", "lan.vu@outlook.com"),
    ("họ-tên Nguyễn  Văn An", "name", "Nguyễn Văn An"),
    ("địa-chỉ 12 Lý Thường Kiệt, Hà Nội", "address", "12 Lý Thường Kiệt, Hà Nội"),
    # Field names of several words, typed with spaces.
    ("số điện thoại 0912 345 678", "phone", "+84912345678"),
    ("số thẻ giải mã: 8401 2345 6789", "smartcard", "840123456789"),
    ("họ tên Trần Thị Mai", "name", "Trần Thị Mai"),
    ("địa chỉ 5 ấp 3, xã Tân Thạnh Đông, TP.HCM", "address", "5 ấp 3, xã Tân Thạnh Đông, TP.HCM"),
    ("lại sđt 0912 345 678", "phone", "+84912345678"),  # "#sửa lại sđt …" typed with a space
    # The incident date (dd/mm/yyyy as agents write it, or ISO) and the category.
    ("ngày sự cố 05/11/2026", "incident_date", "2026-11-05"),
    ("incident_date 2026-11-05", "incident_date", "2026-11-05"),
    ("date 5.11.2026", "incident_date", "2026-11-05"),
    ("category fee", "category", "fee"),
    ("loại cước", "category", "fee"),
    ("phân-loại khác", "category", "other"),
])
def test_valid_corrections(arg: str, field: str, value: str) -> None:
    assert parse_correction(arg, CONFIG) == Correction(field, value)


@pytest.mark.parametrize(("arg", "why"), [
    ("phone", "needs a field and a value"),
    ("colour red", "unknown field"),
    ("phone 1900 1592", "not a valid phone"),  # K+'s own hotline
    ("phone 12345", "not a valid phone"),
    ("card 1234", "not a valid smartcard"),
    ("card 8401 2345 678A", "not a valid smartcard"),
    ("decoder ABCDEFG", "not a valid decoder"),  # fewer than 4 digits
    ("email not-an-address", "not a valid email"),
    ("ngày 31/02/2026", "not a valid incident_date"),
    ("date hôm qua", "write it as dd/mm/yyyy"),
    ("category refund", "one of: fee, other"),
])
def test_invalid_corrections_say_why(arg: str, why: str) -> None:
    with pytest.raises(CorrectionError, match=why):
        parse_correction(arg, CONFIG)


def test_spellings_and_event_detail() -> None:
    assert all(is_set_command(w) for w in ("set", "SET", "sửa", "sua", "cập-nhật", "capnhat", "cập_nhật"))
    assert not is_set_command("note")
    command = parse_commands("#sửa sđt 0912 345 678\nCảm ơn").commands[0]
    assert is_set_command(command.name) and command.known and command.name == "set"
    assert [c.name for c in parse_commands("#cập nhật sđt 0912 345 678\n#sửa lại số thẻ 8401 2345 6789").commands] \
        == ["set", "set"]
    correction = parse_correction(command.arg, CONFIG)
    assert correction.event_detail("+84987654321") == {"field": "phone", "old": "+84987654321",
                                                        "new": "+84912345678"}
