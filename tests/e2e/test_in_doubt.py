"""Sends in doubt are settled, not repeated (issue 16, item 1), on the real servers.

A notice is in doubt when the SMTP server may have taken it without our hearing the 250: the
sender was killed after DATA (``sender.after_smtp``: the row is left ``sending``, its lease
runs out), or the connection dropped after the final dot. Against a server that files a copy
of what it accepted (``MailStack(sent_copy_folder=...)``, as Gmail does) the copy is looked up
by Message-ID and nothing is sent twice; with no copy to look at, one resend is the worst case.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailproc.testing.devstack import MailStack
from tests.helpers.cli import CRASH_EXIT_CODE, Workspace, customer, message_id_of
from tests.helpers.mail import complaint

COPIES = "Sent"


@pytest.fixture(scope="module")
def copying_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailStack]:
    """A mail stack whose SMTP server files a copy of every accepted message in the sender's
    own "Sent" folder before it answers 250."""
    with MailStack(base_dir=tmp_path_factory.mktemp("copying"), sent_copy_folder=COPIES) as stack:
        yield stack


@pytest.fixture
def cws(copying_stack: MailStack, shared_mailbox: str, database_url: str, tmp_path: Path) -> Workspace:
    """A workspace on the copying stack, configured to look for its copies. Agents' replies
    are not read from that folder here ([imap] sent_folder off), so the copies stay out of intake."""
    workspace = Workspace(copying_stack, shared_mailbox, database_url, tmp_path)
    workspace.configure(smtp={"sent_copy_folder": COPIES, "sent_copy_wait_seconds": 0.0, "lease_seconds": 0.0},
                        imap={"sent_folder": ""})
    workspace.cli("db", "upgrade")
    return workspace


def _queue_receipt(ws: Workspace) -> str:
    address = customer("an")
    ws.deliver(complaint(sender=f"Nguyễn Văn An <{address}>", to=ws.mailbox))
    ws.cli("poll", "--once")
    return address


def _accepted_ids(stack: MailStack, address: str) -> list[str]:
    return [message_id_of(data) for _, rcpts, data in stack.smtp_log() if address in rcpts]


def _outbox(ws: Workspace) -> list[tuple[str, int]]:
    return [(status, attempts) for _, _, _, status, attempts, _ in ws.snapshot().outbox]


def _crash_send(ws: Workspace, point: str) -> None:
    done = ws.spawn("send", "--once", crash_at=point)
    assert done.returncode == CRASH_EXIT_CODE, done.stderr


def _send(ws: Workspace) -> str:
    done = ws.spawn("send", "--once")
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_killed_after_the_250_is_found_in_the_copy_and_never_sent_again(cws: Workspace) -> None:
    address = _queue_receipt(cws)

    _crash_send(cws, "sender.after_smtp")  # the server said 250; the row still says "sending"
    assert _outbox(cws) == [("sending", 1)]
    report = _send(cws)

    assert "claimed=0" in report and "confirmed=1" in report
    assert _outbox(cws) == [("sent", 1)]
    (accepted,) = _accepted_ids(cws.stack, address)  # once, for good
    assert cws.folder_ids(COPIES) == [accepted]
    assert "claimed=0" in _send(cws)


def test_killed_before_data_is_absent_from_the_copy_and_sent_once(cws: Workspace) -> None:
    address = _queue_receipt(cws)

    _crash_send(cws, "sender.before_data")  # claimed, never handed over
    assert _accepted_ids(cws.stack, address) == []
    report = _send(cws)

    assert "claimed=1 sent=1" in report
    assert _outbox(cws) == [("sent", 2)]
    assert len(_accepted_ids(cws.stack, address)) == 1


def test_a_copy_not_yet_due_keeps_the_notice_waiting(cws: Workspace) -> None:
    cws.configure(smtp={"sent_copy_wait_seconds": 3600.0})
    address = _queue_receipt(cws)
    _crash_send(cws, "sender.before_data")

    report = _send(cws)  # absent, but a copy may still be on its way: wait, do not resend

    assert "claimed=0" in report and "in_doubt=1" in report
    assert _outbox(cws) == [("in_doubt", 1)]
    (listed,) = cws.json("outbox", "list", "--json")
    assert listed["status"] == "in_doubt"
    assert _accepted_ids(cws.stack, address) == []


def test_an_unreadable_copy_folder_never_means_absent(cws: Workspace) -> None:
    cws.configure(smtp={"sent_copy_folder": "No such folder"})
    address = _queue_receipt(cws)
    _crash_send(cws, "sender.after_smtp")

    report = _send(cws)

    assert "claimed=0" in report and "in_doubt=1" in report
    assert _outbox(cws) == [("in_doubt", 1)]
    assert len(_accepted_ids(cws.stack, address)) == 1  # not sent blind

    cws.configure(smtp={"sent_copy_folder": COPIES})  # the operator fixes the folder name
    assert "confirmed=1" in _send(cws)
    assert _outbox(cws) == [("sent", 1)] and len(_accepted_ids(cws.stack, address)) == 1


def test_a_connection_dropped_after_the_final_dot_is_settled_from_the_copy(cws: Workspace) -> None:
    address = _queue_receipt(cws)
    cws.stack.drop_after_data()  # delivered (and filed), then the server hangs up before its 250

    first = _send(cws)
    assert "sent=0" in first and "in_doubt=1" in first
    second = _send(cws)

    assert "confirmed=1" in second
    assert _outbox(cws) == [("sent", 1)]
    assert len(_accepted_ids(cws.stack, address)) == 1


def test_without_a_copy_folder_a_dropped_connection_is_resent_once(ws: Workspace) -> None:
    """The documented worst case where no copy can exist: one resend, same Message-ID."""
    address = _queue_receipt(ws)
    ws.stack.drop_after_data()

    report = _send(ws)

    assert "sent=0" in report and "in_doubt=1" in report
    assert _outbox(ws) == [("in_doubt", 1)]
    assert "sent=1" in _send(ws)
    ids = _accepted_ids(ws.stack, address)
    assert len(ids) == 2 and ids[0] == ids[1]
    assert _outbox(ws) == [("sent", 2)]  # two tries, one of them in doubt
