"""``mailproc corrections export DIR`` end to end: an agent corrects a ticket by mail (#set),
the export writes the customer's original mail and the corrected fields as a labelled set, and
``mailproc extract --eval DIR`` scores extraction on it: the corrected field a mismatch of the
extractor, a value the agent confirmed a match."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.helpers.cli import Workspace
from tests.helpers.mail import complaint, message

pytestmark = pytest.mark.e2e
TRUSTED = "mx.kplus.example"
AUTH = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=kplus.example; dmarc=pass"}
L1 = "l1.tran@kplus.example"
# The customer mistyped the phone (extraction reads it as written); the agent corrects it after
# a call. The card the agent confirms is the one extraction found.
BODY = """Kính gửi K+,

Nhà tôi mất sóng K+ từ ngày 28/10/2026.
Số thẻ giải mã: 8401 2345 6789
Số điện thoại: 0912 345 678
Địa chỉ: 12 Lý Thường Kiệt, P. Hàng Bài, Q. Hoàn Kiếm, Hà Nội

Trân trọng,
Nguyễn Văn An
"""


def _agent(ws: Workspace, ref: str, body: str) -> None:
    ws.deliver(message(sender=L1, to=ws.mailbox, subject=f"Re: [{ref}] Mất sóng", body=body,
                       headers=AUTH).as_bytes())
    ws.cli("poll", "--once")


def test_a_correction_round_trips_through_extract_eval(ws: Workspace, tmp_path: Path) -> None:
    ws.configure(agents=[{"email": L1, "role": "l1"}], auth={"trusted_authserv_ids": [TRUSTED]},
                 routing={"rules": []})  # type: ignore[arg-type]
    original = complaint(to=ws.mailbox, body=BODY)
    ws.deliver(original,
               complaint(to=ws.mailbox, body="Nhà em mất sóng K+ từ hôm qua. Số thẻ: 8401 2345 6000."))
    ws.cli("poll", "--once")
    first, second = sorted(t["ref"] for t in ws.json("tickets", "list", "--json"))
    assert ws.json("tickets", "show", first, "--json")["phone"] == "+84912345678"

    _agent(ws, first, "#sửa sđt 0912 345 687\n#set số thẻ 8401 2345 6789\nKhách gọi lại xác nhận.")
    assert ws.json("tickets", "show", second, "--json")["status"] == "assessing"  # no phone
    _agent(ws, second, "#set phone 0977 123 456")  # learnt on the telephone: not in the mail
    assert ws.json("tickets", "show", second, "--json")["status"] == "l1"  # complete now

    shown = ws.json("tickets", "show", first, "--json")
    assert (shown["phone"], shown["province"], shown["ward"]) == ("+84912345687", "Thành phố Hà Nội",
                                                                  "Phường Cửa Nam")
    (event,) = [e for e in shown["events"] if e["kind"] == "identifier_set" and e["detail"]["field"] == "phone"]
    assert (event["detail"]["old"], event["detail"]["new"]) == ("+84912345678", "+84912345687")

    folder = tmp_path / "corrected"
    result = ws.cli("corrections", "export", str(folder))
    assert f"{first}: phone, smartcard" in result.stdout and "1 corrected mails written" in result.stdout
    assert f"not exported: {second}: no corrected field is in the original mail" in result.stderr
    assert sorted(p.name for p in folder.iterdir()) == [f"{first}.eml", f"{first}.json"]
    assert json.loads((folder / f"{first}.json").read_text(encoding="utf-8")) == {
        "phone": "+84912345687", "smartcard": "840123456789"}
    assert stat.S_IMODE((folder / f"{first}.eml").stat().st_mode) == 0o600  # customers' data
    assert original.split(b"\r\n\r\n", 1)[1] in (folder / f"{first}.eml").read_bytes()  # as the customer sent it

    report = ws.json("extract", "--eval", str(folder), "--json")
    assert report["mails"] == 1 and report["errors"] == []
    assert report["fields"]["phone"] == {"accuracy": 0.0, "correct": 0, "total": 1, "false_values": 0,
                                         "missed": 0, "wrong": 1}
    assert report["fields"]["smartcard"]["correct"] == 1  # the value the agent confirmed
    assert report["mismatches"] == [{"mail": first, "field": "phone", "kind": "wrong",
                                     "expected": "+84912345687", "got": "+84912345678"}]
    assert report["fields"]["name"]["total"] == 0  # fields nobody corrected are not scored
