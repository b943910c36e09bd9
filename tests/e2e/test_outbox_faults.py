"""Attempts count tries (issue 16, item 2), on the real SMTP server and both databases.

An outage (nothing reaches the server) charges no attempt and pauses the whole outbox, not
each row; temporary refusals fail a notice only after ``max_attempts`` *and*
``give_up_hours``; the operator requeues with ``mailproc outbox retry``; supervisors hear of
failures and of the recovery.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailproc.app import App
from mailproc.store.migrate import upgrade
from mailproc.store.models import OutboxItem
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.cli import Workspace, customer
from tests.helpers.mail import complaint

CLOSED_PORT = 1  # nothing listens there: connection refused


def _app(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path, clock: Clock,
         **sections: Any) -> App:
    app = App.build(make_config(mailstack, shared_mailbox, database_url, tmp_path, **sections), now=clock)
    upgrade(app.engine)
    return app


@pytest.fixture
def make_app(mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path,
             clock: Clock) -> Iterator[Any]:
    apps: list[App] = []

    def make(**sections: Any) -> App:
        apps.append(_app(mailstack, shared_mailbox, database_url, tmp_path, clock, **sections))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


def _complaints(app: App, stack: MailStack, mailbox: str, count: int) -> list[str]:
    senders = [customer(f"k{i}") for i in range(count)]
    for sender in senders:
        stack.deliver(complaint(to=mailbox, sender=sender), mailbox)
    app.poll_once()
    app.process_once()
    return senders


def _outbox(app: App) -> list[OutboxItem]:
    with app.sessions() as s:
        return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def test_an_outage_pauses_the_whole_outbox_and_charges_nothing(make_app: Any, mailstack: MailStack,
                                                               shared_mailbox: str, clock: Clock) -> None:
    down = make_app(smtp={"port": CLOSED_PORT, "backoff_initial": 60.0, "backoff_max": 600.0})
    senders = _complaints(down, mailstack, shared_mailbox, 3)

    first = down.send_once()
    assert (first.claimed, first.deferred, first.sent) == (3, 3, 0)  # one connection tried, no row charged
    paused = down.send_once()
    assert paused.paused and paused.claimed == 0  # the outbox waits as a whole ...
    clock.advance(seconds=61)
    assert down.send_once().deferred == 3  # ... then tries again, and waits twice as long
    clock.advance(seconds=61)
    assert down.send_once().paused
    for _ in range(40):  # hours of outage: far past max_attempts and give_up_hours' tries
        clock.advance(minutes=11)
        down.send_once()
    assert [(o.status, o.attempts) for o in _outbox(down)] == [("queued", 0)] * 3

    up = make_app()  # the server is back (a restarted daemon, or the same one after its pause)
    report = up.send_once()

    assert report.sent == 3 and not report.paused
    assert [(o.status, o.attempts) for o in _outbox(up)] == [("sent", 1)] * 3
    for sender in senders:
        assert len(mailstack.messages(sender)) == 1


def test_temporary_refusals_fail_a_notice_only_after_max_attempts_and_give_up_hours(
        make_app: Any, mailstack: MailStack, shared_mailbox: str, clock: Clock) -> None:
    app = make_app(smtp={"max_attempts": 2, "give_up_hours": 24.0, "backoff_initial": 60.0, "backoff_max": 3600.0})
    _complaints(app, mailstack, shared_mailbox, 1)

    mailstack.fail_smtp(451, "4.3.0 try again later", times=100)
    try:
        for _ in range(6):  # past max_attempts, but not yet a day: still retried
            assert app.send_once().retried == 1
            clock.advance(hours=1, seconds=1)
        (item,) = _outbox(app)
        assert (item.status, item.attempts) == ("queued", 6)
        clock.advance(hours=24)
        assert app.send_once().failed == 1
        (item,) = _outbox(app)
        assert item.status == "failed" and "451" in (item.last_error or "")
    finally:
        _drain_faults(mailstack)


def _drain_faults(stack: MailStack) -> None:
    stack._handler._faults.clear()  # the session's stack is shared: leave no fault behind


def test_operator_retries_failed_notices_and_supervisors_hear_of_it(
        mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    supervisor = f"sup.{tag}@kplus.example"
    ws = Workspace(mailstack, shared_mailbox, database_url, tmp_path)
    ws.configure(agents=[{"email": supervisor, "role": "supervisor"}])  # type: ignore[arg-type]
    ws.cli("db", "upgrade")
    address = customer("an")
    ws.deliver(complaint(sender=address, to=ws.mailbox))
    ws.cli("poll", "--once")
    mailstack.fail_smtp(550, "5.1.1 mailbox unavailable")
    try:
        ws.cli("send", "--once")
    finally:
        _drain_faults(mailstack)
    (failed,) = ws.json("outbox", "list", "--json", "--status", "failed")

    ws.cli("sweep")
    ws.cli("send", "--once")
    (problem,) = mailstack.messages(supervisor)
    assert b"outbox_stuck" in problem

    refused = ws.cli("outbox", "retry", "999999", expect=1)
    assert "no such notice" in refused.stderr
    done = ws.json("outbox", "retry", "--failed", "--json")
    assert done == {"requeued": [failed["id"]], "refused": []}
    (requeued,) = ws.json("outbox", "list", "--json", "--status", "queued")
    assert (requeued["id"], requeued["attempts"]) == (failed["id"], 0)
    ws.cli("send", "--once")
    assert len(mailstack.messages(address)) == 1
    again = ws.cli("outbox", "retry", str(failed["id"]), expect=1)  # sent now: left alone
    assert "not failed or in doubt" in again.stderr

    ws.cli("sweep")
    ws.cli("send", "--once")
    assert len(mailstack.messages(supervisor)) == 2  # the problem, then its recovery
