"""A customer's personal data on a database only (SQLite and PostgreSQL): complaints processed
as the poller would store them, then ``export_person``, ``erase_person`` and the retention purge
on the rows."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mailproc.app import App
from mailproc.ops.privacy import PrivacyError, Selector, erase_person, export_person, find_tickets, selector
from mailproc.store.db import transaction
from mailproc.store.models import Alert, Attachment, Event, InboundRaw, Ticket, TicketMessage
from mailproc.workflow.retention import MARKER, PURGED, purge_daily, purge_once
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk, desk_app
from tests.helpers.mail import message, new_id
from tests.helpers.pii import find

SHARED = "cskh@kplus.example"
CUSTOMER = "An.Nguyen@Gmail.com"
OTHER = "mai.tran@yahoo.com"
NAME, PHONE, CARD = "Nguyễn Văn An", "0912.345.678", "0123 4567 8901"
WORDS = [NAME, CUSTOMER, "Nguyễn Trãi", "E48-photo"]
DIGITS = ["912345678", "012345678901"]


class Desk(BaseDesk):
    def complain(self, *, sender: str = f"{NAME} <{CUSTOMER}>", name: str = NAME, phone: str = PHONE,
                 card: str = CARD, address: str = "12 Nguyễn Trãi, Thanh Xuân, Hà Nội", photo: bool = True) -> None:
        msg = message(sender=sender, to=SHARED, subject="Mất sóng K+ từ 3 ngày nay", message_id=new_id(),
                      body=f"Tôi tên là {name}, nhà tôi bị mất sóng K+ từ ngày 28/10/2026, màn hình báo lỗi E48.\n"
                           f"Số thẻ giải mã: {card}\nSố điện thoại: {phone}\nĐịa chỉ: {address}\n\n"
                           f"Trân trọng,\n{name}\n")
        if photo:
            msg.add_attachment(b"\x89PNG fake photo of the screen", maintype="image", subtype="png",
                               filename=f"{name.split()[-1]}-E48-photo.png")
        self.store(msg.as_bytes())
        assert self.app.process_once().created == 1

    def other(self) -> None:
        """Another customer's complaint, which erasing the first must leave alone."""
        self.complain(sender=f"Trần Thị Mai <{OTHER}>", name="Trần Thị Mai", phone="0987 654 321",
                      card="5555 6666 7777", address="7 Lê Lợi, Quận 1, TP.HCM", photo=False)

    def tickets(self) -> list[Ticket]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Ticket).order_by(Ticket.id)))


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    base = {"smtp": {"from_address": SHARED}, "routing": {"rules": []},
            "agents": [{"email": "l1.tran@kplus.example", "role": "l1"}]}
    app: App = desk_app(database_url, tmp_path, clock, base)
    try:
        yield Desk(app, clock)
    finally:
        app.close()


def _who(desk: Desk, kind: str, value: str) -> Selector:
    return selector(kind, value, desk.app.config.extract)


@pytest.mark.parametrize(("kind", "value"), [("email", "an.nguyen@gmail.COM"), ("phone", "+84 912 345 678"),
                                             ("phone", "0912345678"), ("card", "0123-4567-8901")])
def test_a_customer_is_found_by_any_identifier_however_written(desk: Desk, kind: str, value: str) -> None:
    desk.complain()
    desk.other()
    with desk.app.sessions() as session:
        assert [t.customer_address for t in find_tickets(session, _who(desk, kind, value))] == [CUSTOMER.lower()]


def test_an_identifier_that_names_no_one_is_refused(desk: Desk) -> None:
    for kind, value in (("phone", "1900 1592"), ("card", "none"), ("email", "nobody")):
        with pytest.raises(PrivacyError):
            _who(desk, kind, value)


def test_export_writes_the_tickets_mail_and_attachments_for_the_owner_only(desk: Desk, tmp_path: Path) -> None:
    desk.complain()
    desk.other()
    with desk.app.sessions() as session:
        report = export_person(session, _who(desk, "phone", PHONE), tmp_path / "out", now=desk.clock())
    assert "912345678" not in report.folder.name and report.folder.parent == tmp_path / "out"
    data = json.loads((report.folder / "customer.json").read_text("utf-8"))
    (ticket,) = data["tickets"]
    assert (ticket["phone"], ticket["smartcard"], ticket["name"]) == ("+84912345678", "012345678901", NAME)
    (msg,) = ticket["messages"]
    assert "E48" in msg["body_text"]
    assert (report.folder / msg["raw_file"]).read_bytes().startswith(b"From:") or \
        b"Message-ID" in (report.folder / msg["raw_file"]).read_bytes()
    (attachment,) = msg["attachments"]
    assert (report.folder / attachment["file"]).read_bytes() == b"\x89PNG fake photo of the screen"
    assert {e["kind"] for e in ticket["events"]} >= {"received"}
    assert data["notices"] and all(n["ticket_id"] == ticket["id"] for n in data["notices"])
    assert "Trần Thị Mai" not in (report.folder / "customer.json").read_text("utf-8")
    for path in [report.folder, *report.folder.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_erase_leaves_nothing_of_the_person_anywhere_and_keeps_the_statistics(desk: Desk) -> None:
    desk.complain()
    desk.clock.advance(minutes=5)
    desk.complain(photo=False)  # a second complaint of the same person
    desk.other()
    before = {t.ref: (t.status, t.received_at, t.accept_due, t.reply_due, t.category) for t in desk.tickets()}
    assert find(desk.app.engine, WORDS, DIGITS)  # the scan sees them before

    with transaction(desk.app.sessions) as session:
        dry = erase_person(session, _who(desk, "card", CARD), now=desk.clock(), actor="operator", dry_run=True)
    assert len(dry.tickets) == 2 and dry.raw_mails == 2 and dry.attachments == 1
    assert find(desk.app.engine, WORDS, DIGITS)  # a dry run changes nothing
    with transaction(desk.app.sessions) as session:
        report = erase_person(session, _who(desk, "card", CARD), now=desk.clock(), actor="operator")
    assert report.tickets == dry.tickets

    left = find(desk.app.engine, WORDS, DIGITS)
    assert left == [], "\n".join(left)
    assert find(desk.app.engine, ["Trần Thị Mai", OTHER], ["987654321"])  # the other customer is untouched
    after = {t.ref: (t.status, t.received_at, t.accept_due, t.reply_due, t.category) for t in desk.tickets()}
    assert after == before
    with desk.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(TicketMessage)) == 3  # counts kept
        assert session.scalar(select(func.count()).select_from(InboundRaw)) == 1  # the other customer's
        erased = list(session.scalars(select(Event).where(Event.kind == "erased")))
        assert len(erased) == 2 and all(set(e.detail) == {"messages", "attachments"} for e in erased)
        assert find_tickets(session, _who(desk, "card", CARD)) == []


def test_retention_purges_raw_mail_of_tickets_closed_long_ago_once(desk: Desk) -> None:
    desk.complain()
    desk.other()
    first, _ = desk.tickets()
    with transaction(desk.app.sessions) as session:
        ticket = session.get(Ticket, first.id)
        assert ticket is not None
        ticket.status, ticket.closed_at = "closed", desk.clock()
    later = desk.clock() + timedelta(days=731)
    dry = purge_once(desk.app.sessions, desk.app.ctx, now=lambda: later, dry_run=True)
    assert (dry.tickets, dry.raw_mails, dry.attachments) == ([first.ref], 1, 1)
    assert purge_once(desk.app.sessions, desk.app.ctx, now=lambda: desk.clock() + timedelta(days=729)).tickets == []

    report = purge_once(desk.app.sessions, desk.app.ctx, now=lambda: later)
    assert report.tickets == [first.ref]
    with desk.app.sessions() as session:
        assert session.get(InboundRaw, 1) is None and session.get(InboundRaw, 2) is not None
        assert [a.data for a in session.scalars(select(Attachment))] == [None]
        assert session.scalar(select(func.count()).select_from(TicketMessage)) == 2
        assert [e.ticket_id for e in session.scalars(select(Event).where(Event.kind == PURGED))] == [first.id]
    assert purge_once(desk.app.sessions, desk.app.ctx, now=lambda: later).tickets == []  # done once


def test_the_daily_purge_runs_once_a_day(desk: Desk) -> None:
    now = desk.clock()
    assert purge_daily(desk.app.sessions, desk.app.ctx, now) is not None
    assert purge_daily(desk.app.sessions, desk.app.ctx, now + timedelta(hours=1)) is None
    assert purge_daily(desk.app.sessions, desk.app.ctx, now + timedelta(days=1)) is not None


def test_the_deadline_sweep_purges_once_a_day(desk: Desk) -> None:
    desk.complain()
    (ticket,) = desk.tickets()
    with transaction(desk.app.sessions) as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        row.status, row.closed_at = "closed", desk.clock()
    desk.clock.advance(days=731)
    desk.app.sweep_once()
    with desk.app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundRaw)) == 0
        marker = session.get(Alert, MARKER)
        assert marker is not None and not marker.active and "tickets=1" in (marker.detail or "")
    desk.clock.advance(hours=1)
    desk.app.sweep_once()
    with desk.app.sessions() as session:
        marker = session.get(Alert, MARKER)
        assert marker is not None and "tickets=1" in (marker.detail or "")  # not run again today
        assert len(list(session.scalars(select(Event).where(Event.kind == PURGED)))) == 1
