"""The bulk import (issue 15, item 2) end to end: ``mailproc tickets import`` on a CSV file as
Excel writes it, then ``mailproc send --once``: the receipt is in the customer's mailbox on the
real Dovecot, its deadlines counted from when the call centre received the complaint."""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.helpers.cli import Workspace, customer

pytestmark = pytest.mark.e2e

NOW = "2026-11-02T09:00:00+07:00"  # Monday; the complaints came in on Friday and Saturday
HEADER = "external_id;received_at;channel;name;address;phone;email;smartcard;decoder;category;incident_date;text"


def _csv(path: Path, address: str) -> Path:
    lines = [HEADER,
             f"CC-1001;30/10/2026 16:45;hotline;Nguyễn Văn An;12 Lý Thường Kiệt, Hà Nội;0912 345 678;{address};"
             "8401 2345 6789;;cước;28/10/2026;\"Tôi bị trừ cước hai lần;\nxin kiểm tra giúp\"",
             "CC-1002;31/10/2026 08:00;store;Trần Thị Bình;;0987654321;;;;;;Mất kênh K+ Sport 1"]
    path.write_bytes("\ufeff".encode() + "\r\n".join(lines).encode() + b"\r\n")  # Excel: BOM, ';', CRLF
    return path


def _text(raw: bytes) -> str:
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_an_imported_complaint_gets_its_receipt_with_deadlines_from_its_receipt(ws: Workspace) -> None:
    address = customer("an")
    path = _csv(ws.tmp_path / "tong-dai.csv", address)

    dry = ws.cli("tickets", "import", str(path), "--dry-run", "--now", NOW)
    assert dry.stdout.strip() == "would import 2, already there 0"
    assert ws.json("tickets", "list", "--json") == []

    done = ws.cli("tickets", "import", str(path), "--now", NOW)
    assert done.stdout.strip() == "imported 2, already there 0"
    again = ws.json("tickets", "import", str(path), "--json", "--now", NOW)
    assert (again["imported"], again["already"], again["errors"]) == (0, 2, [])

    by_id = {t["external_id"]: t for t in ws.json("tickets", "list", "--json")}
    first, second = by_id["CC-1001"], by_id["CC-1002"]
    assert (first["channel"], first["status"], first["received_at"]) == ("hotline", "l1", "2026-10-30T16:45:00+07:00")
    assert first["accept_due"] == "2026-11-06"  # 5 working days from Friday 30/10 (from the import: 09/11)
    assert (second["channel"], second["status"], second["email"]) == ("store", "assessing", None)
    shown = ws.json("tickets", "show", first["ref"], "--json")
    (imported,) = [e for e in shown["events"] if e["kind"] == "imported"]
    assert (imported["detail"]["source"], imported["detail"]["line"]) == ("tong-dai.csv", 2)
    assert shown["thread"][0]["text"] == "Tôi bị trừ cước hai lần;\nxin kiểm tra giúp"

    ws.cli("send", "--once", "--now", "2026-11-02T09:01:00+07:00")

    (receipt,) = ws.stack.messages(address)
    text = _text(receipt)
    assert first["ref"] in text
    assert "Ngày tiếp nhận: 30/10/2026 lúc 16:45" in text
    assert "chậm nhất ngày 06/11/2026" in text
    assert [o["kind"] for o in ws.json("outbox", "list", "--json") if o["to"] == address] == ["receipt"]


def test_a_file_with_bad_lines_imports_nothing_and_exits_1(ws: Workspace) -> None:
    path = ws.tmp_path / "bad.csv"
    path.write_text(f"{HEADER.replace(';', ',')}\n"
                    "CC-1,30/10/2026,hotline,,,0123,,,,,,x\n"
                    "CC-2,01/01/2030,hotline,,,,,,,,,y\n", encoding="utf-8")

    result = ws.cli("tickets", "import", str(path), "--now", NOW, expect=1)

    assert result.stdout.splitlines() == [
        "bad.csv: 2 bad line(s), nothing imported",
        "  line 2, phone: '0123' is not a valid phone",
        "  line 3, received_at: '01/01/2030' is in the future",
    ]
    report = json.loads(ws.cli("tickets", "import", str(path), "--json", "--now", NOW, expect=1).stdout)
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(2, "phone"), (3, "received_at")]
    assert ws.json("tickets", "list", "--json") == []
