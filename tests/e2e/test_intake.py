"""Exactly-once ingestion against the real Dovecot: store, move, dedupe, resync, back off."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from imap_tools import MailBoxUnencrypted
from sqlalchemy import func, select

from mailproc.app import App
from mailproc.intake import poll as ingest
from mailproc.store.migrate import upgrade
from mailproc.store.models import InboundMessage, InboundRaw, MailboxState
from mailproc.testing.devstack import MailStack
from tests.helpers import Clock, make_config
from tests.helpers.mail import complaint

pytestmark = pytest.mark.e2e


def _count(app: App) -> int:
    with app.sessions() as s:
        return int(s.scalar(select(func.count(InboundMessage.id))) or 0)


def _app(stack: MailStack, box: str, url: str, tmp_path: Path, clock: Clock, **sections: object) -> App:
    app = App.build(make_config(stack, box, url, tmp_path, **sections), now=clock)  # type: ignore[arg-type]
    upgrade(app.engine)
    return app


def _login(stack: MailStack, user: str) -> MailBoxUnencrypted:
    return MailBoxUnencrypted(stack.host, stack.imap_port, timeout=10).login(user, stack.password, initial_folder=None)


def test_poll_stores_each_message_once_and_moves_it(app: App, mailstack: MailStack, shared_mailbox: str) -> None:
    raws = [complaint(phone=f"09123456{i:02d}") for i in range(3)]
    for raw in raws:
        mailstack.deliver(raw, shared_mailbox)

    report = app.poll_once()

    assert (report.seen, report.stored, report.duplicates, report.moved, report.left_behind) == (3, 3, 0, 3, 0)
    assert mailstack.messages(shared_mailbox) == []
    assert len(mailstack.messages(shared_mailbox, "Processed")) == 3
    with app.sessions() as s:
        stored = sorted(s.scalars(select(InboundRaw.raw).join(InboundMessage, InboundMessage.id == InboundRaw.id)))
    assert stored == sorted(raws)  # byte for byte, nothing re-encoded
    again = app.poll_once()
    assert (again.seen, again.stored) == (0, 0)


def test_messages_read_by_a_human_are_still_fetched_and_flags_untouched(
        app: App, mailstack: MailStack, shared_mailbox: str) -> None:
    mailstack.deliver(complaint(), shared_mailbox)
    mailstack.deliver(complaint(phone="0987654321"), shared_mailbox)
    with _login(mailstack, shared_mailbox) as box:
        box.folder.set("INBOX")
        first = box.uids("ALL")[0]
        box.flag(first, "\\Seen", True)  # an agent opened it in their mail client

    assert app.poll_once().stored == 2
    with _login(mailstack, shared_mailbox) as box:
        box.folder.set("Processed")
        seen = [msg.flags for msg in box.fetch(mark_seen=False, headers_only=True)]
    assert sorted("\\Seen" in flags for flags in seen) == [False, True]  # we set no flag ourselves


def test_same_message_twice_in_the_mailbox_is_stored_once(app: App, mailstack: MailStack,
                                                          shared_mailbox: str) -> None:
    raw = complaint()
    # Sent to two of our addresses: same Message-ID and body, different trace headers.
    mailstack.deliver(b"Received: from a by mx1; Mon, 2 Nov 2026 09:00:00 +0700\r\n" + raw, shared_mailbox)
    mailstack.deliver(b"Received: from a by mx2; Mon, 2 Nov 2026 09:00:01 +0700\r\n" + raw, shared_mailbox)

    report = app.poll_once()

    assert (report.stored, report.duplicates, report.moved) == (1, 1, 2)
    assert _count(app) == 1
    assert mailstack.messages(shared_mailbox) == []


def test_batches_and_cap_per_poll(mailstack: MailStack, shared_mailbox: str, database_url: str,
                                  tmp_path: Path, clock: Clock) -> None:
    app = _app(mailstack, shared_mailbox, database_url, tmp_path, clock, imap={"batch_size": 2, "max_per_poll": 3})
    for i in range(5):
        mailstack.deliver(complaint(phone=f"09123450{i:02d}"), shared_mailbox)

    first = app.poll_once()
    second = app.poll_once()

    assert (first.stored, first.left_behind) == (3, 2)
    assert (second.stored, second.left_behind) == (2, 0)
    assert _count(app) == 5
    app.close()


def test_each_committed_batch_is_announced_once_it_is_visible(mailstack: MailStack, shared_mailbox: str,
                                                              database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = _app(mailstack, shared_mailbox, database_url, tmp_path, clock, imap={"batch_size": 2})
    for i in range(5):
        mailstack.deliver(complaint(phone=f"09123451{i:02d}"), shared_mailbox)
    visible: list[int] = []

    app.poll_once(on_stored=lambda: visible.append(_count(app)))  # read on a connection of its own

    assert visible == [2, 4, 5]  # after each commit, and what it committed is already there
    app.close()


def test_stored_messages_are_moved_in_groups_and_only_once_committed(
        mailstack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(mailstack, shared_mailbox, database_url, tmp_path, clock, imap={"batch_size": 2})
    for i in range(7):
        mailstack.deliver(complaint(phone=f"09123452{i:02d}"), shared_mailbox)
    monkeypatch.setattr(ingest, "MOVE_BATCH", 3)
    real_move = ingest.move_uids
    moves: list[int] = []

    def watched(box: Any, uids: Any, dest: str, chunk: int) -> int:
        with app.sessions() as s:  # every UID it moves is already committed
            assert max(uids) <= s.get(MailboxState, ("", "INBOX")).last_uid  # type: ignore[union-attr]
        moves.append(len(uids))
        return real_move(box, uids, dest, chunk)

    monkeypatch.setattr(ingest, "move_uids", watched)
    report = app.poll_once()

    assert moves == [4, 3]  # 2 + 2 stored, then 2 + 1: moved once 3 or more wait, the rest at the end
    assert (report.stored, report.moved) == (7, 7)
    assert len(mailstack.messages(shared_mailbox, "Processed")) == 7
    app.close()


def test_stored_but_unmoved_messages_are_moved_without_refetch(mailstack: MailStack, shared_mailbox: str,
                                                               database_url: str, tmp_path: Path,
                                                               clock: Clock) -> None:
    # First poller stores but does not move (as if it died right after its commit).
    keep = _app(mailstack, shared_mailbox, database_url, tmp_path, clock, imap={"processed_folder": ""})
    for i in range(3):
        mailstack.deliver(complaint(phone=f"09123451{i:02d}"), shared_mailbox)
    assert keep.poll_once().left_behind == 3
    keep.close()
    mover = _app(mailstack, shared_mailbox, database_url, tmp_path, clock)

    report = mover.poll_once()

    assert (report.stored, report.duplicates, report.moved) == (0, 0, 3)
    assert _count(mover) == 3
    assert len(mailstack.messages(shared_mailbox, "Processed")) == 3
    mover.close()


def test_uidvalidity_change_resyncs_without_duplicates(mailstack: MailStack, shared_mailbox: str,
                                                       database_url: str, tmp_path: Path, clock: Clock) -> None:
    app = _app(mailstack, shared_mailbox, database_url, tmp_path, clock,
               imap={"folder": "Complaints", "processed_folder": ""})
    old = [complaint(phone=f"09123452{i:02d}") for i in range(2)]
    for raw in old:
        mailstack.deliver(raw, shared_mailbox, folder="Complaints")
    assert app.poll_once().stored == 2
    with _login(mailstack, shared_mailbox) as box:  # the folder is rebuilt: new UIDVALIDITY
        box.folder.delete("Complaints")
        box.folder.create("Complaints")
    for raw in [*old, complaint(phone="0912345299")]:
        mailstack.deliver(raw, shared_mailbox, folder="Complaints")

    report = app.poll_once()

    assert report.uidvalidity_reset
    assert (report.seen, report.stored, report.duplicates) == (3, 1, 2)
    assert _count(app) == 3
    app.close()


@pytest.mark.parametrize("problem", ["port", "password"])
def test_server_or_login_failure_backs_off_and_never_raises(mailstack: MailStack, shared_mailbox: str,
                                                            database_url: str, tmp_path: Path, clock: Clock,
                                                            problem: str) -> None:
    imap: dict[str, object] = {"backoff_initial": 30.0}
    if problem == "port":
        imap["port"] = 1  # nothing listens there
    else:
        imap["password"] = "wrong"
    app = _app(mailstack, shared_mailbox, database_url, tmp_path, clock, imap=imap)

    first = app.poll_once()
    skipped = app.poll_once()
    clock.advance(seconds=31)
    retried = app.poll_once()

    assert first.error and (problem != "password" or "login" in first.error)
    assert skipped.skipped_backoff and skipped.error is None
    assert retried.error and not retried.skipped_backoff
    with app.sessions() as s:
        state = s.get(MailboxState, ("", "INBOX"))
        assert state is not None and state.failures == 2 and state.last_error
        # the second failure waits twice as long
        assert state.next_attempt_at == clock() + __import__("datetime").timedelta(seconds=60)
    app.close()


def test_recovery_after_failure_resets_backoff(mailstack: MailStack, shared_mailbox: str, database_url: str,
                                               tmp_path: Path, clock: Clock) -> None:
    broken = _app(mailstack, shared_mailbox, database_url, tmp_path, clock, imap={"password": "wrong"})
    assert broken.poll_once().error
    broken.close()
    app = _app(mailstack, shared_mailbox, database_url, tmp_path, clock)
    mailstack.deliver(complaint(), shared_mailbox)

    report = app.poll_once(ignore_backoff=True)

    assert report.stored == 1 and report.error is None
    with app.sessions() as s:
        state = s.get(MailboxState, ("", "INBOX"))
        assert state is not None and state.failures == 0 and state.last_ok_at == clock()
    app.close()
