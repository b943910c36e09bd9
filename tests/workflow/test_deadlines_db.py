"""The deadline sweep on a database only, as of a time moved by hand.

A complaint received Mon 02/11/2026 09:00 (Hà Nội) is due for acceptance on Mon 09/11/2026
(5 working days) and for the written reply on Tue 01/12/2026 (20 working days; 24/11 is a
holiday). Mail is stored as the poller would store it; no IMAP, no SMTP. Each notice must be
queued exactly once however often the sweep runs. The end-to-end versions, on the real servers,
are in ``tests/test_workflow_e2e.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.app import App
from mailproc.config import from_mapping
from mailproc.store.migrate import upgrade
from mailproc.store.models import Event, Ticket
from mailproc.workflow.deadlines import sweep_once
from tests.helpers import Clock
from tests.helpers.desk import BaseDesk
from tests.helpers.mail import complaint, message

SHARED = "cskh@kplus.example"
CUSTOMER = "an.nguyen@gmail.com"
L1, L2, SUP = "l1.tran@kplus.example", "l2.le@kplus.example", "sup.pham@kplus.example"
TRUSTED = "mx.kplus.example"
AUTH = {"Authentication-Results": f"{TRUSTED}; dkim=pass header.d=kplus.example; dmarc=pass"}
REF = "KP-2026-000001"
HANOI = timedelta(hours=7)


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    """A Hà Nội wall-clock time, as UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=UTC) - HANOI


def _sweep(app: App) -> Any:
    """``sweep_once`` as of the app's clock, whichever of its two signatures is in place
    (``sweep_once(app, now)`` before the refactor, ``sweep_once(sessions, ctx, *, now)`` after)."""
    parameters = inspect.signature(sweep_once).parameters
    if "app" in parameters:
        return sweep_once(app, app.now())  # type: ignore[arg-type, call-arg]
    wants_callable = "Callable" in str(parameters["now"].annotation)
    return sweep_once(app.sessions, app.context(), now=app.now if wants_callable else app.now())  # type: ignore[arg-type]


class Desk(BaseDesk):
    """One test's K+ desk without a mail server: store mail as the poller would, process it,
    sweep, read the rows back."""

    def complain(self) -> Ticket:
        self.store(complaint(sender=CUSTOMER))
        assert self.app.process_once().created == 1
        return self.ticket()

    def agent(self, sender: str, body: str) -> None:
        self.clock.advance(minutes=10)
        self.store(message(sender=sender, to=SHARED, subject=f"Re: [{REF}] Mất sóng", body=body, headers=AUTH,
                           date=self.clock()).as_bytes())
        assert self.app.process_once().agent_mail == 1

    def sweep(self, when: datetime) -> Any:
        self.clock.value = when
        return _sweep(self.app)

    def ticket(self) -> Ticket:
        with self.app.sessions() as session:
            found = session.scalar(select(Ticket).where(Ticket.ref == REF))
            assert found is not None
            return found

    def sent_to(self, kind: str) -> list[str]:
        return [o.to_address for o in self.outbox(kind)]

    def events(self) -> list[Event]:
        with self.app.sessions() as session:
            return list(session.scalars(select(Event).join(Ticket).where(Ticket.ref == REF).order_by(Event.id)))


@pytest.fixture
def desk(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[Desk]:
    config = from_mapping({
        "database": {"url": database_url},
        "scheduler": {"lock_file": str(tmp_path / "mailproc.lock"), "analysis_workers": 1},
        "smtp": {"from_address": SHARED},
        "agents": [{"email": L1, "role": "l1"}, {"email": L2, "role": "l2"}, {"email": SUP, "role": "supervisor"}],
        "auth": {"trusted_authserv_ids": [TRUSTED]},
        "routing": {"rules": []},
    }, env={}, source="<test>")
    app = App.build(config, now=clock)
    upgrade(app.engine)
    yield Desk(app, clock)
    app.close()


def test_the_complaints_deadlines(desk: Desk) -> None:
    ticket = desk.complain()

    assert (ticket.received_at, ticket.accept_due, ticket.reply_due) == (
        at(2026, 11, 2), date(2026, 11, 9), date(2026, 12, 1))


def test_an_undecided_l2_ticket_is_accepted_from_the_cutoff_hour_of_the_last_day_exactly_once(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    assert desk.sweep(at(2026, 11, 6, 23, 59)).auto_accepted == []  # Friday: the day before the last working day
    assert desk.sweep(at(2026, 11, 9, 7, 59)).auto_accepted == []   # the last day, before 08:00
    assert desk.outbox("acceptance") == [] and desk.ticket().status == "l2"

    report = desk.sweep(at(2026, 11, 9, 8, 0))

    assert report.auto_accepted == [REF]
    ticket = desk.ticket()
    assert (ticket.status, ticket.queue, ticket.decided_at) == ("accepted", "L2", at(2026, 11, 9, 8, 0))
    (acceptance,) = desk.outbox("acceptance")
    assert (acceptance.to_address, acceptance.ticket_id, acceptance.created_at) == (
        CUSTOMER, ticket.id, at(2026, 11, 9, 8, 0))
    (accept,) = [e for e in desk.events() if e.kind == "auto_accept"]
    assert (accept.actor, accept.detail["old"], accept.detail["new"]) == ("scheduler", "l2", "accepted")
    (why,) = [e for e in desk.events() if e.kind == "auto_accept_reason"]
    assert "had not decided" in why.detail["reason"]

    queued = [o.id for o in desk.outbox()]
    events = len(desk.events())
    again = desk.sweep(at(2026, 11, 9, 8, 5))
    assert again.auto_accepted == []
    assert [o.id for o in desk.outbox()] == queued  # the second sweep queues nothing at all
    assert len(desk.events()) == events


def test_a_level_1_ticket_is_escalated_first_and_l2_is_told(desk: Desk) -> None:
    desk.complain()

    assert desk.sweep(at(2026, 11, 9, 8, 0)).auto_accepted == [REF]

    assert desk.ticket().status == "accepted"
    kinds = [e.kind for e in desk.events()]
    assert kinds.index("auto_escalate") < kinds.index("auto_accept")
    assert desk.sent_to("agent_notice") == [L1, L2]
    assert desk.sent_to("acceptance") == [CUSTOMER]


def test_a_ticket_l2_accepted_itself_is_not_accepted_again(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")
    desk.agent(L2, "#accept")

    assert desk.sweep(at(2026, 11, 9, 8, 0)).auto_accepted == []
    assert desk.sent_to("acceptance") == [CUSTOMER]
    assert [e.actor for e in desk.events() if e.kind in ("accept", "auto_accept")] == [L2]


def test_after_downtime_the_acceptance_goes_out_late_once(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    assert desk.sweep(at(2026, 11, 16)).auto_accepted == [REF]  # the week after the last day
    assert desk.sweep(at(2026, 11, 16, 9, 5)).auto_accepted == []

    assert desk.sent_to("acceptance") == [CUSTOMER]
    (why,) = [e for e in desk.events() if e.kind == "auto_accept_reason"]
    assert "sent late" in why.detail["reason"]


def test_reminders_go_to_the_queue_and_the_supervisors_once_per_offset(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")  # reminder_offsets = [2, 1] working days before Mon 09/11

    assert desk.sweep(at(2026, 11, 4)).reminders == 0  # Wednesday: three working days before
    assert desk.outbox("reminder") == []
    assert desk.sweep(at(2026, 11, 5)).reminders == 1  # Thursday: two
    assert desk.sweep(at(2026, 11, 5, 15)).reminders == 0
    assert sorted(desk.sent_to("reminder")) == [L2, SUP]
    assert desk.sweep(at(2026, 11, 6)).reminders == 1  # Friday: one
    assert desk.sweep(at(2026, 11, 6, 15)).reminders == 0

    reminders = desk.outbox("reminder")
    assert sorted(o.to_address for o in reminders) == [L2, L2, SUP, SUP]
    assert {o.ticket_id for o in reminders} == {desk.ticket().id}


def test_a_missed_reminder_day_sends_only_the_nearest_reminder(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")

    assert desk.sweep(at(2026, 11, 6)).reminders == 1  # down on Thursday: Friday's reminder only

    assert sorted(desk.sent_to("reminder")) == [L2, SUP]


def test_a_breached_reply_deadline_is_reported_once(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#escalate")
    desk.agent(L2, "#accept")

    first = desk.sweep(at(2026, 12, 1, 17))  # the last day itself: not breached yet
    assert first.breaches == 0 and desk.outbox("breach") == []

    report = desk.sweep(at(2026, 12, 2))

    assert report.breaches == 1
    assert sorted(desk.sent_to("breach")) == [L2, SUP]
    (breach,) = [e for e in desk.events() if e.kind == "deadline_breached"]
    assert (breach.actor, breach.detail["deadline"], breach.detail["due"]) == ("scheduler", "reply", "2026-12-01")
    queued = [o.id for o in desk.outbox()]
    assert desk.sweep(at(2026, 12, 3)).breaches == 0
    assert [o.id for o in desk.outbox()] == queued
    assert desk.ticket().status == "accepted"  # reported, not changed


def test_a_finished_ticket_gets_no_deadline_mail(desk: Desk) -> None:
    desk.complain()
    desk.agent(L1, "#resolve\nĐã kích hoạt lại thẻ.")

    for when in (at(2026, 11, 5), at(2026, 11, 9, 8), at(2026, 12, 2)):
        report = desk.sweep(when)
        assert (report.auto_accepted, report.reminders, report.breaches) == ([], 0, 0)

    assert desk.ticket().status == "closed"
    assert [o.kind for o in desk.outbox() if o.kind in ("acceptance", "reminder", "breach")] == []
