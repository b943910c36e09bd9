"""The bulk import (issue 15, item 2) on a database only: a CSV file in, tickets, events and
receipts in the outbox out, or nothing and every bad line. The end-to-end version, with the
receipt in the customer's mailbox, is ``tests/e2e/test_import.py``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from mailproc.store.models import Event, OutboxItem, Ticket, TicketMessage
from mailproc.workflow.bulk_import import ImportReport, import_tickets
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk, desk_app

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SHARED = "cskh@kplus.example"
HEADER = ["external_id", "received_at", "channel", "name", "address", "phone", "email", "smartcard", "decoder",
          "category", "incident_date", "text"]
# Received Friday 30/10/2026 at 16:45 in Hà Nội (the clock: Monday 02/11/2026 09:00).
GOOD = ["CC-1001", "30/10/2026 16:45", "hotline", "Nguyễn Văn An", "12 Lý Thường Kiệt, Phường Cửa Nam, Hà Nội",
        "0912 345 678", "An.Nguyen@Gmail.com", "8401 2345 6789", "", "cước", "28/10/2026",
        "Tôi bị trừ tiền cước hai lần, xin kiểm tra giúp"]
# No card, no decoder: it waits in assessing; no e-mail: no receipt.
NO_CARD = ["CC-1002", "2026-10-31 08:00", "store", "Trần Thị Bình", "", "0987654321", "", "", "", "", "",
           "Mất kênh K+ Sport 1"]


def csv_bytes(rows: list[list[str]], *, sep: str = ",", bom: bool = False, header: list[str] = HEADER) -> bytes:
    def cell(value: str) -> str:
        return f'"{value.replace(chr(34), chr(34) * 2)}"' if any(c in value for c in f'{sep}"\n') else value
    text = "\r\n".join(sep.join(cell(v) for v in row) for row in [header, *rows]) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode()


class Desk(BaseDesk):
    def run(self, data: bytes, *, dry_run: bool = False, name: str = "calls.csv") -> ImportReport:
        return import_tickets(self.app.sessions, self.app.context(), data, source=name, now=self.clock(),
                              dry_run=dry_run)

    def tickets(self) -> list[Ticket]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))

    def events(self, ticket_id: int) -> list[Event]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Event).where(Event.ticket_id == ticket_id).order_by(Event.id)))


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    app = desk_app(database_url, tmp_path, clock, {"smtp": {"from_address": SHARED},
                                                   "agents": [{"email": "l1@kplus.example", "role": "l1"}]})
    yield Desk(app, clock)
    app.close()


@pytest.mark.parametrize(("sep", "bom"), [(",", False), (";", True), (";", False), (",", True)])
def test_a_file_becomes_tickets_routed_as_mail_with_the_receipt(desk: Desk, sep: str, bom: bool) -> None:
    report = desk.run(csv_bytes([GOOD, NO_CARD], sep=sep, bom=bom))

    assert report.ok and str(report) == "imported 2, already there 0"
    first, second = desk.tickets()
    assert (first.channel, first.external_id, first.status, first.queue) == ("hotline", "CC-1001", "l1", "L1")
    assert (first.phone, first.smartcard, first.email, first.category) == (
        "+84912345678", "840123456789", "an.nguyen@gmail.com", "fee")
    assert (first.incident_date, first.province, first.customer_address) == (
        date(2026, 10, 28), "Thành phố Hà Nội", "an.nguyen@gmail.com")
    # The deadlines count from receipt at the call centre (Friday), not from the import (Monday).
    assert first.received_at.astimezone(HCM) == datetime(2026, 10, 30, 16, 45, tzinfo=HCM)
    cal, days = desk.app.calendar, desk.app.config.calendar
    assert (first.accept_due, first.reply_due) == (cal.add_working_days(date(2026, 10, 30), days.accept_days),
                                                   cal.add_working_days(date(2026, 10, 30), days.reply_days))
    assert first.accept_due == date(2026, 11, 6)  # 5 working days from Friday (from Monday: the 9th)
    assert (second.status, second.queue, second.missing, second.channel) == ("assessing", None, ["card_or_decoder"],
                                                                             "store")
    receipts = desk.outbox("receipt")
    assert [(o.to_address, o.ticket_id) for o in receipts] == [("an.nguyen@gmail.com", first.id)]
    assert "2026-11-06" in (receipts[0].context or "") and first.ref in receipts[0].subject  # (rendered when sent)
    assert not desk.outbox("need_info")  # no request for the missing card: the call centre completes it
    assert [o.kind for o in desk.outbox("agent_notice")] == ["agent_notice"]  # the L1 agent, for the first only
    imported = [e for e in desk.events(first.id) if e.kind == "imported"]
    assert [(e.detail["source"], e.detail["line"], e.detail["external_id"]) for e in imported] == [
        ("calls.csv", 2, "CC-1001")]
    assert {e.kind for e in desk.events(second.id)} >= {"imported", "assessed", "notice_skipped"}
    with desk.app.sessions() as session:
        texts = list(session.scalars(select(TicketMessage.body_text).order_by(TicketMessage.id)))
    assert texts == [GOOD[-1], NO_CARD[-1]]


def test_importing_the_same_file_again_creates_nothing(desk: Desk) -> None:
    data = csv_bytes([GOOD, NO_CARD])
    assert str(desk.run(data)) == "imported 2, already there 0"
    outbox = len(desk.outbox())

    again = desk.run(data)
    more = desk.run(csv_bytes([NO_CARD, ["CC-2000", *GOOD[1:]]], sep=";"))

    assert str(again) == "imported 0, already there 2"
    assert (more.would_import, more.already, len(more.imported)) == (1, 1, 1)
    assert [t.external_id for t in desk.tickets()] == ["CC-1001", "CC-1002", "CC-2000"]
    assert len(desk.outbox()) > outbox and len(desk.outbox("receipt")) == 2


def test_a_dry_run_counts_and_changes_nothing(desk: Desk) -> None:
    report = desk.run(csv_bytes([GOOD, NO_CARD]), dry_run=True)
    assert str(report) == "would import 2, already there 0" and report.imported == ()
    assert desk.tickets() == [] and desk.outbox() == []


def test_a_file_with_bad_lines_imports_nothing_and_lists_every_one(desk: Desk) -> None:
    rows = [
        GOOD,                                                                                   # 2: fine
        ["CC-2", "32/10/2026", "hotline", "", "", "0123", "", "84-01", "", "", "", "x"],          # 3
        ["CC-3", "03/11/2026 10:00", "hot line", "", "", "", "", "", "ab", "tiền", "", ""],      # 4
        ["CC-1001", "30/10/2026", "store", "", "", "", "not-an-email", "", "", "", "31/10/2026", "y"],  # 5
        ["", "", "", "", "", "", "", "", "", "", "", ""],                                         # 6: blank, skipped
        ["CC-5", "01/11/2026", "store", "", "", "", "", "", "", "", "", "z", "one too many"],   # 7
    ]
    report = desk.run(csv_bytes(rows, sep=";"))

    assert not report.ok
    assert {(e.line, e.column) for e in report.errors} == {
        (3, "received_at"), (3, "phone"), (3, "smartcard"),
        (4, "received_at"), (4, "channel"), (4, "decoder"), (4, "category"), (4, "text"),
        (5, "email"), (5, "incident_date"), (7, None)}
    reasons = {(e.line, e.column): e.reason for e in report.errors}
    assert "bad date" in reasons[(3, "received_at")] and "in the future" in reasons[(4, "received_at")]
    assert "'0123' is not a valid phone" in reasons[(3, "phone")]
    assert "one of: fee, other" in reasons[(4, "category")]
    assert "after the complaint was received" in reasons[(5, "incident_date")]
    assert str(report).startswith("calls.csv: 11 bad line(s), nothing imported\n  line 3, received_at: bad date")
    assert desk.tickets() == [] and desk.outbox() == []


def test_a_line_repeating_an_external_id_of_the_file_is_bad(desk: Desk) -> None:
    report = desk.run(csv_bytes([GOOD, NO_CARD, GOOD]))
    assert [str(e) for e in report.errors] == ["line 4, external_id: 'CC-1001' is also on line 2"]
    assert desk.tickets() == []


def test_the_header_must_name_the_required_columns_and_only_known_ones(desk: Desk) -> None:
    header = ["external_id", "received_at", "phone", "texte"]
    report = desk.run(csv_bytes([["CC-1", "01/11/2026", "0912345678", "x"]], header=header))
    assert {(e.line, e.column) for e in report.errors} == {(1, "texte"), (1, "channel"), (1, "text")}
    assert desk.run(b"\xef\xbb\xbfexternal_id,received_at\n\xff\xfe\n").errors[0].reason == "not UTF-8 text"
    assert desk.tickets() == []


def test_a_multi_line_text_keeps_its_lines_and_the_next_record_its_line_number(desk: Desk) -> None:
    long = [*GOOD[:-1], "Dòng một\nDòng hai; có dấu chấm phẩy, và dấu phẩy"]
    bad = ["CC-9", "01/11/2026", "store", "", "", "0123", "", "", "", "", "", "x"]
    assert [str(e) for e in desk.run(csv_bytes([long, bad], sep=";")).errors] == [
        "line 4, phone: '0123' is not a valid phone"]
    assert desk.run(csv_bytes([long], sep=";")).ok
    with desk.app.sessions() as session:
        assert session.scalar(select(TicketMessage.body_text)) == long[-1]
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == "receipt")) == 1
