"""Crash consistency: kill the real CLI (``os._exit(77)``) at each named point, rerun it, and
check that nothing was lost or done twice.

Each case runs ``python -m mailproc.cli`` in a subprocess with ``MAILPROC_CRASH_AT`` set, checks
that the process died where it should (exit 77, and the state that point implies), then reruns
it without the variable and checks the invariants (PITFALLS.md, "How they test it"):
every delivered complaint is exactly one inbound row and one ticket; every message is in the
processed folder exactly once and the INBOX is empty; no notice is queued or delivered twice.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from mailproc.testing.devstack import MailStack
from tests.helpers.cli import CRASH_EXIT_CODE, REF_PATTERN, Workspace, customer, message_id_of
from tests.helpers.mail import complaint

pytestmark = [pytest.mark.crash, pytest.mark.e2e]


def _complaints(ws: Workspace, count: int) -> list[bytes]:
    """``count`` complete complaints, each from its own customer (no rate limit applies)."""
    return [complaint(sender=f"Khách {i} <{customer(f'k{i}')}>", to=ws.mailbox) for i in range(count)]


def _crash(ws: Workspace, point: str, *args: str) -> None:
    done = ws.spawn(*args, crash_at=point)
    assert done.returncode == CRASH_EXIT_CODE, (
        f"expected to die at {point} with {CRASH_EXIT_CODE}, got {done.returncode}\n{done.stderr}")


def _rerun(ws: Workspace, *args: str) -> str:
    done = ws.spawn(*args)
    assert done.returncode == 0, done.stderr
    return done.stderr


def assert_invariants(ws: Workspace, delivered: list[str]) -> None:
    """Every delivered complaint: one inbound row, one ticket, one receipt; IMAP tidy."""
    snap = ws.snapshot()
    assert Counter(mid for mid, _, _ in snap.inbound) == Counter(delivered)
    assert all(status == "processed" for _, status, _ in snap.inbound), snap.inbound
    ticket_of = [ticket for _, _, ticket in snap.inbound]
    assert len(snap.tickets) == len(delivered)
    assert sorted(ticket_of) == sorted(snap.tickets)  # one ticket per message, none spare
    assert Counter(t for t, _ in snap.ticket_messages) == dict.fromkeys(snap.tickets, 1)
    refs = sorted(snap.tickets.values())
    assert all(re.fullmatch(REF_PATTERN, ref) for ref in refs)
    assert [int(ref[-6:]) for ref in refs] == list(range(1, len(delivered) + 1))  # no ref lost or reused
    receipts = Counter(ticket for ticket, kind, *_ in snap.outbox if kind == "receipt")
    assert receipts == dict.fromkeys(snap.tickets, 1)
    assert len(snap.outbox) == len(delivered)  # nothing but the receipts

    assert ws.folder_ids("INBOX") == []
    assert Counter(ws.folder_ids("Processed")) == Counter(delivered)


# --- the poller and the pipeline -------------------------------------------------------------

def _after_fetch(ws: Workspace, delivered: list[str]) -> None:
    assert ws.snapshot().inbound == []  # nothing committed
    assert ws.folder_ids("INBOX") == delivered and ws.folder_ids("Processed") == []


def _after_commit(ws: Workspace, delivered: list[str]) -> None:
    snap = ws.snapshot()
    assert [(mid, status) for mid, status, _ in snap.inbound] == [(mid, "new") for mid in delivered]
    assert ws.folder_ids("INBOX") == delivered and ws.folder_ids("Processed") == []  # not moved


def _before_commit(ws: Workspace, delivered: list[str]) -> None:
    snap = ws.snapshot()
    assert [(mid, status) for mid, status, _ in snap.inbound] == [(mid, "new") for mid in delivered]
    assert snap.tickets == {} and snap.outbox == [] and snap.ticket_messages == []  # rolled back
    assert ws.folder_ids("INBOX") == [] and ws.folder_ids("Processed") == delivered


@pytest.mark.parametrize(("point", "state_after_crash"), [
    ("ingest.after_fetch", _after_fetch),
    ("ingest.after_commit", _after_commit),
    ("pipeline.before_commit", _before_commit),
])
def test_poll_killed_at_a_crash_point_then_rerun(ws: Workspace, point: str, state_after_crash) -> None:
    delivered = ws.deliver(*_complaints(ws, 3))

    _crash(ws, point, "poll", "--once")
    state_after_crash(ws, delivered)
    _rerun(ws, "poll", "--once")

    assert_invariants(ws, delivered)
    before = ws.snapshot()
    assert "stored=0" in _rerun(ws, "poll", "--once")  # and a third run changes nothing
    assert ws.snapshot() == before


def test_kill_during_a_large_poll_loses_nothing(ws: Workspace) -> None:
    ws.configure(imap={"batch_size": 5})
    delivered = ws.deliver(*_complaints(ws, 23))

    _crash(ws, "ingest.after_commit", "poll", "--once")
    snap = ws.snapshot()
    assert [mid for mid, _, _ in snap.inbound] == delivered[:5]  # the first batch, committed
    assert ws.folder_ids("INBOX") == delivered and ws.folder_ids("Processed") == []

    report = _rerun(ws, "poll", "--once")

    assert "stored=18" in report and "moved=23" in report
    assert_invariants(ws, delivered)


# --- the sender ------------------------------------------------------------------------------

def _receipt_setup(ws: Workspace) -> tuple[str, str]:
    """One complaint polled into one queued receipt; returns (customer, ticket ref)."""
    address = customer("an")
    ws.deliver(complaint(sender=f"Nguyễn Văn An <{address}>", to=ws.mailbox))
    ws.cli("poll", "--once")
    (ticket,) = ws.json("tickets", "list", "--json")
    return address, ticket["ref"]


def _accepted_for(stack: MailStack, address: str) -> list[bytes]:
    return [data for _, rcpts, data in stack.smtp_log() if address in rcpts]


def test_sender_killed_after_smtp_accepted_sends_again_once_the_lease_expires(ws: Workspace) -> None:
    # The lease is taken, and fixed, by the process that crashes: with 0 s it has expired by the
    # rerun (a lease_seconds set only for the rerun would not shorten a lease already taken).
    ws.configure(smtp={"lease_seconds": 0.0})
    address, ref = _receipt_setup(ws)

    _crash(ws, "sender.after_smtp", "send", "--once")

    (first,) = _accepted_for(ws.stack, address)  # the server said 250 ...
    ((_, kind, _, status, attempts, message_id),) = ws.snapshot().outbox
    assert (kind, status, attempts) == ("receipt", "sending", 1)  # ... but the row is not "sent"
    (listed,) = ws.json("outbox", "list", "--json")
    assert (listed["status"], listed["attempts"]) == ("queued", 1)  # "sending" is internal

    report = _rerun(ws, "send", "--once")

    assert "claimed=1 sent=1" in report
    ((_, kind, to, status, attempts, same_id),) = ws.snapshot().outbox  # still exactly one row
    assert (kind, to, status, attempts, same_id) == ("receipt", address, "sent", 2, message_id)
    # The documented ambiguous window: the server got the same bytes, same Message-ID, twice.
    accepted = _accepted_for(ws.stack, address)
    assert accepted == [first, first]
    assert message_id_of(first) == message_id
    # The customer's store drops the copy by Message-ID (Sieve "duplicate"): one receipt.
    (received,) = ws.stack.messages(address)
    assert message_id_of(received) == message_id
    assert ref.encode() in received

    assert "claimed=0" in _rerun(ws, "send", "--once")  # sent is final
    assert len(_accepted_for(ws.stack, address)) == 2


def test_sender_killed_after_smtp_does_not_resend_while_the_lease_holds(ws: Workspace) -> None:
    address, _ = _receipt_setup(ws)  # the default lease: 300 s

    _crash(ws, "sender.after_smtp", "send", "--once")
    report = _rerun(ws, "send", "--once")

    assert "claimed=0" in report  # another sender may still be working on it
    assert len(_accepted_for(ws.stack, address)) == 1
    ((_, _, _, status, attempts, _),) = ws.snapshot().outbox
    assert (status, attempts) == ("sending", 1)
