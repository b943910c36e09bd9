"""A customer's personal data end to end on the real Dovecot and SMTP servers, through the
real CLI: export, erase (then nothing of the person anywhere in the database), the retention
purge of a closed ticket's raw mail, and of old mail in the IMAP processed folder (exactly those
UIDs: a colleague's mail marked deleted stays)."""

from __future__ import annotations

import imaplib
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select

from mailproc.store.models import Event, InboundRaw, Ticket, TicketMessage
from tests.helpers.cli import Workspace, message_id_of
from tests.helpers.mail import COMPLAINT_BODY, complaint, message, new_id
from tests.helpers.pii import find

pytestmark = pytest.mark.e2e
TRUSTED = "mx.kplus.example"
AUTH = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=kplus.example; dmarc=pass"}
L1 = "l1.tran@kplus.example"
CUSTOMER, OTHER = "an.nguyen@gmail.com", "mai.tran@yahoo.com"
WORDS = ["Nguyễn Văn An", CUSTOMER, "Nguyễn Trãi"]
DIGITS = ["912345678", "012345678901"]


def _setup(ws: Workspace) -> tuple[str, str]:
    ws.configure(agents=[{"email": L1, "role": "l1"}],  # type: ignore[arg-type]
                 auth={"trusted_authserv_ids": [TRUSTED]}, routing={"rules": []})
    ws.deliver(complaint(sender=f"Nguyễn Văn An <{CUSTOMER}>"))
    ws.cli("poll", "--once")
    other = COMPLAINT_BODY.format(name="Trần Thị Mai", phone="0987 654 321", card="5555 6666 7777")
    ws.deliver(complaint(sender=f"Trần Thị Mai <{OTHER}>", body=other.replace("12 Nguyễn Trãi", "7 Lê Lợi")))
    ws.cli("poll", "--once")
    first, second = sorted(t["ref"] for t in ws.json("tickets", "list", "--json"))
    return first, second


def test_export_then_erase_leaves_nothing_of_the_customer(ws: Workspace, tmp_path: Path) -> None:
    first, second = _setup(ws)
    ws.cli("send", "--once")

    out = tmp_path / "export"
    result = ws.cli("customer", "export", "--phone", "+84 912 345 678", "--out", str(out))
    assert f"1 ticket(s) ({first})" in result.stdout
    (folder,) = out.iterdir()
    assert "912345678" not in folder.name and stat.S_IMODE(folder.stat().st_mode) == 0o700
    data = json.loads((folder / "customer.json").read_text("utf-8"))
    assert [t["ref"] for t in data["tickets"]] == [first]
    (msg,) = data["tickets"][0]["messages"]
    assert b"Nguy" in (folder / msg["raw_file"]).read_bytes() or (folder / msg["raw_file"]).stat().st_size
    assert any(n["kind"] == "receipt" and n["to_address"] == CUSTOMER for n in data["notices"])
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.rglob("*") if p.is_file())

    dry = ws.cli("customer", "erase", "--email", "An.Nguyen@GMAIL.com", expect=1)
    assert f"would erase: tickets=1 ({first})" in dry.stdout and "--yes" in dry.stdout
    with ws.session() as session:
        assert find(session.get_bind(), WORDS, DIGITS)
    ws.cli("customer", "erase", "--card", "0123 4567 8901", "--yes")

    with ws.session() as session:
        left = find(session.get_bind(), WORDS, DIGITS)
        assert left == [], "\n".join(left)
        assert find(session.get_bind(), ["Trần Thị Mai"], ["987654321"])
    shown = ws.json("tickets", "show", first, "--json")
    assert (shown["status"], shown["name"], shown["phone"], shown["smartcard"]) == ("l1", None, None, None)
    assert shown["messages"] == 1 and shown["events"][-1]["kind"] == "erased"
    assert ws.json("tickets", "show", second, "--json")["name"] == "Trần Thị Mai"
    assert "no ticket of this customer" in ws.cli("customer", "erase", "--card", "012345678901", "--yes").stdout


def test_retention_purges_the_raw_mail_of_a_closed_ticket(ws: Workspace) -> None:
    first, second = _setup(ws)
    ws.deliver(message(sender=L1, to=ws.mailbox, subject=f"Re: [{first}] Mất sóng", body="#resolve\nĐã xử lý xong.",
                       headers=AUTH).as_bytes())
    ws.cli("poll", "--once")
    assert ws.json("tickets", "show", first, "--json")["status"] == "closed"

    soon = ws.cli("retention", "purge", "--dry-run", "--now", "2027-01-01T08:00+07:00")
    assert "tickets=0" in soon.stdout
    later = ws.cli("retention", "purge", "--dry-run", "--now", "2030-01-01T08:00+07:00")
    assert "(dry run): tickets=1" in later.stdout and first in later.stdout
    with ws.session() as session:
        raws = session.scalar(select(func.count()).select_from(InboundRaw))
    ws.cli("retention", "purge", "--now", "2030-01-01T08:00+07:00")

    with ws.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == first))
        assert ticket is not None and ticket.status == "closed" and ticket.phone == "+84912345678"
        inbound = [m.inbound_id for m in session.scalars(select(TicketMessage).where(
            TicketMessage.ticket_id == ticket.id))]
        assert inbound and all(session.get(InboundRaw, i) is None for i in inbound if i is not None)
        assert (session.scalar(select(func.count()).select_from(InboundRaw)) or 0) < (raws or 0)
        assert session.scalar(select(Event.kind).where(Event.ticket_id == ticket.id, Event.kind == "raw_purged"))
        other = session.scalar(select(Ticket).where(Ticket.ref == second))
        assert other is not None
        assert all(session.get(InboundRaw, m.inbound_id) is not None for m in other.messages if m.inbound_id)
    assert "tickets=0" in ws.cli("retention", "purge", "--now", "2030-01-01T08:00+07:00").stdout


def test_retention_deletes_only_old_mail_from_the_processed_folder(ws: Workspace) -> None:
    ws.configure(retention={"processed_folder_days": 30})
    (recent,) = ws.deliver(complaint(sender=f"Nguyễn Văn An <{CUSTOMER}>"))
    ws.cli("poll", "--once")  # moved to Processed, arrived now
    old = message(sender=f"Trần Thị Mai <{OTHER}>", to=ws.mailbox, subject="Mất sóng", body="Cũ lắm rồi.",
                  message_id=new_id()).as_bytes()
    kept = message(sender=f"Lê Văn Cường <{OTHER}>", to=ws.mailbox, subject="Hỏi", body="Đồng nghiệp đã xoá.",
                   message_id=new_id()).as_bytes()
    with MailBoxUnencrypted(ws.stack.host, ws.stack.imap_port, timeout=10).login(
            ws.mailbox, ws.stack.password, initial_folder=None) as box:
        long_ago = imaplib.Time2Internaldate(datetime(2020, 1, 5, 9, 0, tzinfo=UTC))
        assert box.client.append("Processed", "", long_ago, old)[0] == "OK"
        # A colleague marked this one deleted in the shared mailbox: a plain EXPUNGE would remove it.
        now = imaplib.Time2Internaldate(datetime.now(UTC))
        assert box.client.append("Processed", "(\\Deleted)", now, kept)[0] == "OK"
    everything = sorted([recent, message_id_of(old), message_id_of(kept)])
    assert sorted(ws.folder_ids("Processed")) == everything

    dry = ws.cli("retention", "purge", "--dry-run")
    assert "imap_deleted=1" in dry.stdout
    assert sorted(ws.folder_ids("Processed")) == everything
    assert "imap_deleted=1" in ws.cli("retention", "purge").stdout
    assert sorted(ws.folder_ids("Processed")) == sorted([recent, message_id_of(kept)])
    assert "imap_deleted=0" in ws.cli("retention", "purge").stdout
